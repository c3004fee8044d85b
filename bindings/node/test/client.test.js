'use strict';
// talkgen.Client over the C ABI on the demo model. Jobs are tiny: 1 s of audio, draft, one chunk.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const pkg = require('./support/package');

const talkgen = pkg.talkgen();
const portrait = path.join(pkg.root, 'examples', 'portrait.png');

// A 16-bit mono 16 kHz WAV of a 220 Hz tone.
function toneWav(seconds = 1, rate = 16000) {
  const samples = Math.round(seconds * rate);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0); wav.writeUInt32LE(36 + samples * 2, 4); wav.write('WAVE', 8);
  wav.write('fmt ', 12); wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(rate, 24); wav.writeUInt32LE(rate * 2, 28); wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34);
  wav.write('data', 36); wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i += 1) wav.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 220 * i / rate)), 44 + 2 * i);
  return wav;
}

const tiny = { image: portrait, audio: toneWav(), quality: 'draft', mode: 'clip', preset: 'ultrafast' };

test('bad client options throw an Error with a code', () => {
  assert.throws(() => new talkgen.Client({ model: 'demo', device: 'tpu' }),
                (e) => e.code === 'invalid_argument' && /tpu/.test(e.message));
  assert.throws(() => new talkgen.Client({ modelDir: '/nonexistent/talkgen-weights' }), (e) => e.code === 'not_found');
  assert.throws(() => new talkgen.Client({ model: 'demo', gpus: 'all' }), TypeError);
});

test('Client on the demo model', async (t) => {
  const client = new talkgen.Client({ model: 'demo', device: 'cpu', maxAttempts: 1 });
  t.after(() => client.close());

  await t.test('reports its pool', () => {
    assert.deepStrictEqual(client.devices.devices, ['cpu']);
    assert.strictEqual(client.devices.policy, 'cpu');
    assert.strictEqual(client.devices.untrainedModel, true);
  });

  await t.test('generate resolves to the result off the event loop, with progress and stats', async () => {
    client.resetStats();
    const seen = [];
    const emitted = [];
    const listener = (p) => emitted.push(p);
    client.on('progress', listener);
    let ticks = 0;
    const timer = setInterval(() => { ticks += 1; }, 1);
    const r = await client.generate({ ...tiny, onProgress: (p) => { seen.push(p); } });
    clearInterval(timer);
    client.off('progress', listener);
    assert.ok(ticks > 0, 'the event loop ran during the job');
    assert.strictEqual(r.state, 'succeeded');
    assert.strictEqual(r.errorCode, null);
    assert.match(r.jobId, /^[0-9a-f]{32}$/);
    assert.strictEqual(r.output, null);
    assert.ok(Buffer.isBuffer(r.video));
    assert.strictEqual(r.video.subarray(4, 8).toString(), 'ftyp');
    assert.strictEqual(r.frames, 25);
    assert.strictEqual(r.fps, 25);
    assert.strictEqual(r.chunks, 1);
    assert.strictEqual(r.seed, 42);
    assert.strictEqual(r.steps, 4);
    assert.strictEqual(r.quality, 'draft');
    assert.deepStrictEqual(r.devices, ['cpu']);
    assert.strictEqual(r.gpus, 1);
    assert.strictEqual(r.untrainedModel, true);
    assert.strictEqual(r.estimatedSeconds, null);
    assert.ok(r.timings.sampling > 0);
    assert.ok(r.timings.total >= r.timings.sampling);

    assert.ok(seen.length > 0);
    assert.ok(seen.every((p) => p.jobId === r.jobId));
    assert.ok(seen.some((p) => p.state === 'running'));
    assert.ok(seen.filter((p) => p.stage === 'sampling').length >= 4);
    assert.strictEqual(emitted.length, seen.length);

    const stats = client.stats();
    assert.strictEqual(stats.jobs, 1);
    assert.strictEqual(stats.succeeded, 1);
    assert.strictEqual(stats.successRate, 1);
    client.resetStats();
    assert.strictEqual(client.stats().jobs, 0);
  });

  await t.test('an AbortSignal cancels a running job: rejects with code cancelled, writes nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'talkgen-node-'));
    const controller = new AbortController();
    const job = client.generate({
      ...tiny, output: path.join(dir, 'never.mp4'), jobId: 'node-abort', signal: controller.signal,
      onProgress: (p) => { if (p.stage === 'sampling') controller.abort(); },
    });
    await assert.rejects(job, (e) => e.code === 'cancelled' && e.jobId === 'node-abort' &&
                                      e.result && e.result.state === 'cancelled');
    assert.deepStrictEqual(fs.readdirSync(dir), []);
    fs.rmSync(dir, { recursive: true });
    assert.strictEqual(client.cancel('node-abort'), false);  // finished
  });

  await t.test('an already aborted signal rejects at once', async () => {
    await assert.rejects(client.generate({ ...tiny, signal: AbortSignal.abort() }), (e) => e.code === 'cancelled');
  });

  await t.test('onProgress returning false cancels; throwing cancels and rejects with that error', async () => {
    await assert.rejects(client.generate({ ...tiny, onProgress: (p) => p.stage !== 'sampling' }),
                         (e) => e.code === 'cancelled');
    const boom = new Error('from onProgress');
    await assert.rejects(client.generate({ ...tiny, onProgress: () => { throw boom; } }), (e) => e === boom);
  });

  await t.test('cancel(jobId) reaches a job still queued behind another', async () => {
    const first = client.generate({ ...tiny, jobId: 'node-first' });
    const second = client.generate({ ...tiny, jobId: 'node-second' });
    assert.strictEqual(client.cancel('node-second'), true);
    assert.strictEqual(client.cancel('node-first'), true);
    // Settle both together: awaiting one while the other rejects would leave an unhandled rejection.
    const [s, f] = await Promise.allSettled([second, first]);
    assert.strictEqual(s.status, 'rejected');
    assert.strictEqual(s.reason.code, 'cancelled');
    assert.strictEqual(f.status, 'rejected');
    assert.strictEqual(f.reason.code, 'cancelled');
  });

  await t.test('two speakers: one after another, or together with their boxes', async () => {
    const two = { ...tiny, mode: 'streaming', audio2: toneWav(0.6) };
    assert.strictEqual((await client.generate(two)).frames, 40);  // 1.0 s then 0.6 s
    const together = await client.generate({ ...two, speakerTiming: 'together', speaker1Box: [0, 0, 100, 200],
                                             speaker2Box: [100, 0, 200, 200] });
    assert.strictEqual(together.frames, 25);
    await assert.rejects(client.generate({ ...two, speaker1Box: [0, 0, 10, 10] }), TypeError);
    await assert.rejects(client.generate({ ...two, speakerTiming: 'both' }), (e) => e.code === 'invalid_argument');
  });

  await t.test('failures reject with Errors carrying the talkgen code', async () => {
    await assert.rejects(client.generate({ ...tiny, image: '/nonexistent/face.png' }),
                         (e) => e.code === 'not_found' && /face\.png/.test(e.message));
    await assert.rejects(client.generate({ ...tiny, quality: 'ultra' }), (e) => e.code === 'invalid_argument');
    await assert.rejects(client.generate({ ...tiny, qualty: 'draft' }), TypeError);  // typo
    await assert.rejects(client.generate({ ...tiny, gpus: 0 }), RangeError);
    await assert.rejects(client.generate({ ...tiny, audio: 42 }), TypeError);
  });

  await t.test('generateBatch keeps input order and isolates failures', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'talkgen-node-'));
    const output = path.join(dir, 'good.mp4');
    const results = await client.generateBatch([
      { ...tiny, image: fs.readFileSync(portrait), output, jobId: 'node-good' },
      { ...tiny, image: '/nonexistent/face.png', jobId: 'node-missing' },
      { ...tiny, resolution: '1080p' },
    ]);
    assert.deepStrictEqual(results.map((r) => r.state), ['succeeded', 'failed', 'failed']);
    assert.strictEqual(results[0].jobId, 'node-good');
    assert.strictEqual(results[0].output, output);
    assert.strictEqual(results[0].video, null);
    assert.ok(fs.statSync(output).size > 1000);
    assert.strictEqual(results[1].errorCode, 'not_found');
    assert.strictEqual(results[2].errorCode, 'unsupported');
    fs.rmSync(dir, { recursive: true });
    await assert.rejects(client.generateBatch([{ ...tiny, jobId: 'same' }, { ...tiny, jobId: 'same' }]),
                         (e) => e.code === 'invalid_argument');
  });
});

test('close() cancels running jobs and the client refuses more work', async () => {
  const client = new talkgen.Client({ model: 'demo', device: 'cpu' });
  let closing;
  const job = client.generate({ ...tiny, onProgress: (p) => { if (p.stage === 'sampling' && !closing) closing = client.close(); } });
  await assert.rejects(job, (e) => e.code === 'cancelled');
  await closing;
  assert.throws(() => client.stats(), (e) => e.code === 'invalid_argument');
  await assert.rejects(client.generate(tiny), (e) => e.code === 'invalid_argument');
  await client.close();  // idempotent
});
