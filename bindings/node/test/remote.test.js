'use strict';
// RemoteClient against a real `talkgen serve --model demo --port 0` started here (support/server.js).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const pkg = require('./support/package');
const { speechWav, startServer } = require('./support/server');

const { RemoteClient, RemoteError } = pkg.remote();
const portrait = fs.readFileSync(path.join(pkg.root, 'examples', 'portrait.png'));

/** fetch that records every call and lets a test answer some of them itself. */
function recordingFetch(intercept) {
  const calls = [];
  const wrapped = async (url, init = {}) => {
    const call = { method: init.method || 'GET', path: new URL(url).pathname };
    calls.push(call);
    if (intercept) {
      const answer = await intercept(call, url, init);
      if (answer) return answer;
    }
    return fetch(url, init);
  };
  wrapped.calls = calls;
  return wrapped;
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const fast = { baseDelayMs: 20, maxDelayMs: 200, pollIntervalMs: 200 };

test('RemoteClient against talkgen serve --model demo', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const client = new RemoteClient(server.url, fast);

  await t.test('recommendGpuCount and estimateTime plan for a named GPU type', async () => {
    const gpus = await client.recommendGpuCount(20, { quality: 'balanced', gpuType: 'H100', gpusAvailable: 8 });
    assert.ok(Number.isInteger(gpus) && gpus >= 1 && gpus <= 8, `recommended ${gpus}`);
    const one = await client.estimateTime(20, 1, { gpuType: 'H100' });
    const four = await client.estimateTime(20, 4, { gpuType: 'H100' });
    assert.ok(one > 0 && four > 0, `${one} ${four}`);
    assert.ok(four < one, `4 GPUs (${four} s) are faster than 1 (${one} s)`);
  });

  await t.test('a 4xx answer is not retried and keeps the server code', async () => {
    const f = recordingFetch();
    const c = new RemoteClient(server.url, Object.assign({ fetch: f }, fast));
    await assert.rejects(c.recommendGpuCount(20), (e) => e instanceof RemoteError && e.status === 422 && e.code === 'unsupported');
    assert.strictEqual(f.calls.length, 1);
  });

  await t.test('resetStats, generate (bytes and progress), stats', async () => {
    const reset = await client.resetStats();
    assert.strictEqual(reset.jobs, 0);
    const progress = [];
    const result = await client.generate({ image: portrait, audio: speechWav(1.0), quality: 'draft', seed: 3 },
      { onProgress: (job) => progress.push(job) });
    assert.strictEqual(result.ok, true);
    assert.strictEqual(result.state, 'succeeded');
    assert.match(result.id, /^[0-9a-f]{32}$/);
    assert.match(result.jobId, /^node-/);
    assert.ok(Buffer.isBuffer(result.video));
    assert.strictEqual(result.video.subarray(4, 8).toString(), 'ftyp');
    assert.strictEqual(result.video.length, result.bytes);
    assert.ok(result.durationSeconds > 0.5 && result.durationSeconds < 3, `${result.durationSeconds}`);
    assert.strictEqual(result.videoUrl, `${server.url}/v1/jobs/${result.id}/video`);
    const fractions = progress.map((j) => j.progress);
    assert.deepStrictEqual(fractions, [...fractions].sort((a, b) => a - b), 'progress never goes back');
    assert.strictEqual(progress[progress.length - 1].state, 'succeeded');
    const stats = await client.stats();
    assert.strictEqual(stats.jobs, 1);
    assert.strictEqual(stats.succeeded, 1);
  });

  await t.test('two speakers: second speech, timing and boxes travel with the job', async () => {
    const job = await client.submit({ image: portrait, audio: speechWav(1.0), audio2: speechWav(0.5),
      speakerTiming: 'together', speaker1Box: [0, 0, 256, 512], speaker2Box: [256, 0, 512, 512], quality: 'draft' });
    assert.strictEqual(job.request.speakers, 2);
    assert.strictEqual(job.request.speaker_timing, 'together');
    assert.deepStrictEqual(job.request.speaker1_box, [0, 0, 256, 512]);
    assert.strictEqual((await client.wait(job.id)).state, 'succeeded');
    assert.throws(() => client.submit({ image: portrait, audio: speechWav(1.0), audio2: Buffer.from('x'), audio2B64: 'eA==' }), TypeError);
  });

  await t.test('generate writes output atomically', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'talkgen-remote-out-'));
    const output = path.join(dir, 'out.mp4');
    const result = await client.generate({ image: portrait, text: 'Hi.', quality: 'draft', output });
    assert.strictEqual(result.output, output);
    assert.strictEqual(result.video, undefined);
    assert.deepStrictEqual(fs.readdirSync(dir), ['out.mp4']);
    assert.strictEqual(fs.statSync(output).size, result.bytes);
    fs.rmSync(dir, { recursive: true });
  });

  await t.test('a lost submit answer (503 after the server took the job) is retried without a second job', async () => {
    let dropped = 0;
    const f = recordingFetch(async (call, url, init) => {
      if (call.method === 'POST' && call.path === '/v1/jobs' && dropped === 0) {
        dropped += 1;
        await fetch(url, init);  // the server accepts the job; the answer never reaches the client
        return new Response(JSON.stringify({ code: 'internal', message: 'proxy lost the answer' }), { status: 503 });
      }
      return null;
    });
    const before = (await client.listJobs({ limit: 100 })).total;
    const c = new RemoteClient(server.url, Object.assign({ fetch: f }, fast));
    const result = await c.generate({ image: portrait, text: 'Once.', quality: 'draft', jobId: 'node-retry-once' });
    assert.strictEqual(result.jobId, 'node-retry-once');
    assert.strictEqual(f.calls.filter((x) => x.method === 'POST' && x.path === '/v1/jobs').length, 2);
    const after = await client.listJobs({ limit: 100 });
    assert.strictEqual(after.total, before + 1, 'one job, not two');
    assert.strictEqual(after.jobs.filter((j) => j.job_id === 'node-retry-once').length, 1);
  });

  await t.test('429 is retried, honouring the backoff', async () => {
    let refused = 0;
    const f = recordingFetch(async (call) => (call.path === '/v1/stats' && refused++ < 2
      ? new Response(JSON.stringify({ code: 'too_many_jobs', message: 'busy' }), { status: 429 }) : null));
    const stats = await new RemoteClient(server.url, Object.assign({ fetch: f }, fast)).stats();
    assert.ok(stats.jobs >= 1);
    assert.strictEqual(f.calls.length, 3);
  });

  await t.test('a corrupt image is rejected before queueing, once', async () => {
    const f = recordingFetch();
    const c = new RemoteClient(server.url, Object.assign({ fetch: f }, fast));
    await assert.rejects(c.generate({ image: Buffer.from('not an image at all'), text: 'Hi.' }),
      (e) => e.code === 'invalid_argument' && e.status === 422);
    assert.strictEqual(f.calls.length, 1);
  });

  await t.test('generateBatch returns every result in input order; one failure sinks nothing', async () => {
    const results = await client.generateBatch([
      { image: portrait, text: 'One.', quality: 'draft' },
      { image: portrait, audio: Buffer.from('RIFF broken'), quality: 'draft' },
      { image: portrait, text: 'Three.', quality: 'draft', seed: 9 },
    ]);
    assert.deepStrictEqual(results.map((r) => r.ok), [true, false, true]);
    assert.strictEqual(results[1].error.code, 'invalid_argument');
    assert.notStrictEqual(results[0].id, results[2].id);
    assert.strictEqual(results[2].job.request.seed, 9);
  });

  await t.test('AbortSignal stops waiting and cancels the job on the server', async () => {
    // The victim must find the server busy (state queued): it is submitted once the blocker runs.
    let running;
    const started = new Promise((resolve) => { running = resolve; });
    const blocker = client.generate({ image: portrait, audio: speechWav(3.0), quality: 'draft' },
      { download: false, onProgress: (job) => { if (job.state === 'running') running(); } });
    await started;
    const abort = new AbortController();
    let victim;
    const run = client.generate({ image: portrait, text: 'Never.', quality: 'draft' }, {
      signal: abort.signal,
      onProgress: (job) => { victim = job.id; if (job.state === 'queued') abort.abort(); },
    });
    await assert.rejects(run, (e) => e instanceof RemoteError && e.code === 'cancelled');
    await blocker;
    const job = await client.wait(victim);
    assert.strictEqual(job.state, 'cancelled');
  });

  await t.test('timeoutMs rejects with timeout and cancels the job', async () => {
    const blocker = client.generate({ image: portrait, audio: speechWav(3.0), quality: 'draft' }, { download: false });
    let victim;
    await assert.rejects(client.generate({ image: portrait, text: 'Late.', quality: 'draft' },
      { timeoutMs: 300, onProgress: (job) => { victim = job.id; } }), (e) => e.code === 'timeout' && e.jobId === victim);
    await blocker;
    assert.strictEqual((await client.wait(victim)).state, 'cancelled');
  });
});

test('connection errors are retried, then reported', async () => {
  const port = await freePort();
  const f = recordingFetch();
  const c = new RemoteClient(`http://127.0.0.1:${port}`, Object.assign({ fetch: f, maxRetries: 2 }, fast));
  await assert.rejects(c.stats(), (e) => e.code === 'connection_error' && /gave up after 3 attempts/.test(e.message));
  assert.strictEqual(f.calls.length, 3);
});

test('a server with a token: 401 without it (not retried), works with it', async (t) => {
  const server = await startServer({ token: 'node-test-token-0123456789' });
  t.after(() => server.stop());
  const f = recordingFetch();
  await assert.rejects(new RemoteClient(server.url, Object.assign({ fetch: f }, fast)).stats(),
    (e) => e.code === 'unauthorized' && e.status === 401);
  assert.strictEqual(f.calls.length, 1);
  const stats = await new RemoteClient(server.url, Object.assign({ token: 'node-test-token-0123456789' }, fast)).stats();
  assert.strictEqual(stats.jobs, 0);
});

test('bad arguments are TypeErrors before any request', async () => {
  assert.throws(() => new RemoteClient('gpu-host:8080'), TypeError);
  const f = recordingFetch();
  const c = new RemoteClient('http://127.0.0.1:9', { fetch: f });
  await assert.rejects(c.generate({ image: portrait }), TypeError);
  await assert.rejects(c.generate({ image: portrait, text: 'a', audio: Buffer.from('b') }), TypeError);
  await assert.rejects(c.estimateTime(20, 0), TypeError);
  assert.strictEqual(f.calls.length, 0);
});

test('maxRetries (default 3) counts retries after the first try; maxAttempts is its older form', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  assert.strictEqual(new RemoteClient(url).maxRetries, 3);
  assert.strictEqual(new RemoteClient(url, { maxAttempts: 2 }).maxRetries, 1);
  assert.throws(() => new RemoteClient(url, { maxRetries: 1, maxAttempts: 2 }), /not both/);
  assert.throws(() => new RemoteClient(url, { maxRetries: -1 }), TypeError);
  const f = recordingFetch();
  await assert.rejects(new RemoteClient(url, Object.assign({ fetch: f }, fast)).stats(),
    (e) => e.code === 'connection_error' && /gave up after 4 attempts/.test(e.message));
  assert.strictEqual(f.calls.length, 4, 'one try and 3 retries');
  const once = recordingFetch();
  await assert.rejects(new RemoteClient(url, Object.assign({ fetch: once, maxRetries: 0 }, fast)).stats());
  assert.strictEqual(once.calls.length, 1);
});

test('getStats() is a deprecated alias of stats()', async () => {
  const answered = async () => new Response(JSON.stringify({ jobs: 7 }), { status: 200 });
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  const c = new RemoteClient('http://127.0.0.1:9', { fetch: answered });
  assert.deepStrictEqual(await c.getStats(), { jobs: 7 });
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  assert.ok(warnings.some((w) => w.name === 'DeprecationWarning' && /use stats\(\)/.test(w.message)));
});
