'use strict';
// Client#submit (JobHandle: id, poll, wait, cancel), Client#plan and the library's log as events, on the demo model.
const test = require('node:test');
const assert = require('node:assert');
const path = require('path');
const pkg = require('./support/package');
const { speechWav } = require('./support/server');

const talkgen = pkg.talkgen();
const portrait = path.join(pkg.root, 'examples', 'portrait.png');
const tiny = { image: portrait, audio: speechWav(1), quality: 'draft', mode: 'clip', preset: 'ultrafast' };

/** Resolves once predicate() holds (checked after each turn of the event loop), or rejects after `ms`. */
async function until(predicate, ms, what) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('Client#submit on the demo model', async (t) => {
  const logged = [];
  const client = new talkgen.Client({ model: 'demo', device: 'cpu', maxAttempts: 1, onLog: (e) => logged.push(e) });
  t.after(() => client.close());

  await t.test('returns a JobHandle at once; poll() sees it; wait() resolves to its result, every time', async () => {
    const progress = [];
    const job = client.submit({ ...tiny, jobId: 'node-submit-1', onProgress: (p) => progress.push(p) });
    assert.ok(job instanceof talkgen.JobHandle);
    assert.strictEqual(job.id, 'node-submit-1');
    assert.strictEqual(job.poll().jobId, 'node-submit-1');
    assert.ok(['queued', 'running'].includes(job.poll().state), job.poll().state);
    const result = await job.wait();
    assert.strictEqual(result.state, 'succeeded');
    assert.strictEqual(result.jobId, 'node-submit-1');
    assert.strictEqual(result.video.subarray(4, 8).toString(), 'ftyp');
    assert.ok(job.done());
    assert.strictEqual(job.poll().state, 'succeeded');
    assert.strictEqual((await job.wait({ timeout: 0 })).jobId, 'node-submit-1');
    await until(() => progress.some((p) => p.state === 'succeeded'), 5000, 'the final progress event');
    assert.ok(progress.some((p) => p.stage === 'sampling'));
    assert.strictEqual(job.cancel(), false, 'nothing to cancel once it has finished');
  });

  await t.test('wait({timeout}) rejects with code timeout, result null, while it runs; cancel() stops it', async () => {
    const job = client.submit({ ...tiny, mode: 'streaming', audio: speechWav(4), jobId: 'node-submit-long' });
    await assert.rejects(job.wait({ timeout: 0 }), (e) => e.code === 'timeout' && e.result === null &&
                                                          e.jobId === 'node-submit-long');
    assert.strictEqual(job.cancel(), true);
    await assert.rejects(job.wait(), (e) => e.code === 'cancelled' && e.result.state === 'cancelled');
    assert.strictEqual(job.poll().state, 'cancelled');
    await assert.rejects(job.wait({ timeout: -1 }), RangeError);
  });

  await t.test('onProgress returning false and an AbortSignal cancel a submitted job', async () => {
    const stopped = client.submit({ ...tiny, onProgress: (p) => p.stage !== 'sampling' });
    await assert.rejects(stopped.wait(), (e) => e.code === 'cancelled');
    const controller = new AbortController();
    const aborted = client.submit({ ...tiny, signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted.wait(), (e) => e.code === 'cancelled');
    assert.throws(() => client.submit({ ...tiny, signal: AbortSignal.abort() }), (e) => e.code === 'cancelled');
  });

  await t.test('a job the library refuses throws at submit, with its code', () => {
    assert.throws(() => client.submit({ ...tiny, image: '/nonexistent/face.png' }), (e) => e.code === 'not_found');
    assert.throws(() => client.submit({ ...tiny, quality: 'ultra' }), (e) => e.code === 'invalid_argument');
  });

  await t.test("without a quality the job runs the library's default profile", async () => {
    const result = await client.generate({ ...tiny, quality: undefined });
    assert.strictEqual(result.quality, 'balanced');
  });

  await t.test("the library's messages come as log events, not on stderr", async () => {
    await until(() => logged.some((e) => e.message.includes('node-submit-1')), 5000, "the job's log message");
    const entry = logged.find((e) => e.message.includes('node-submit-1'));
    assert.strictEqual(entry.level, 'info');
    assert.ok(logged.every((e) => ['trace', 'debug', 'info', 'warn', 'error'].includes(e.level)));
  });

  await t.test('close() cancels a submitted job; its handle then refuses', async () => {
    const other = new talkgen.Client({ model: 'demo', device: 'cpu' });
    const job = other.submit({ ...tiny, mode: 'streaming', audio: speechWav(4) });
    const waited = job.wait();
    await other.close();
    await assert.rejects(waited, (e) => e.code === 'cancelled');
    assert.throws(() => job.poll(), (e) => e.code === 'invalid_argument' && /closed/.test(e.message));
  });
});

test('Client#plan: the demo model on the CPU cannot be planned; bad arguments are refused', () => {
  const client = new talkgen.Client({ model: 'demo', device: 'cpu' });
  try {
    assert.throws(() => client.plan(20), (e) => e.code === 'unsupported');
    assert.throws(() => client.plan('20 s'), TypeError);
    assert.throws(() => client.plan(20, { budgetUsd: -1 }), RangeError);
    assert.throws(() => client.recommendGpuCount(20), (e) => e.code === 'unsupported');
  } finally {
    client.close();
  }
});

test('talkgen.logs and setLogLevel', async () => {
  const seen = [];
  const listener = (e) => seen.push(e);
  talkgen.logs.on('log', listener);
  try {
    talkgen.setLogLevel('debug');
    assert.throws(() => talkgen.setLogLevel('loud'), TypeError);
    const client = new talkgen.Client({ model: 'demo', device: 'cpu' });
    await client.generate({ ...tiny, jobId: 'node-logs-1' });
    await client.close();
    await until(() => seen.some((e) => e.message.includes('node-logs-1')), 5000, 'a message about the job');
  } finally {
    talkgen.setLogLevel('info');
    talkgen.logs.off('log', listener);
  }
});
