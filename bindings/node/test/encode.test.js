'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const pkg = require('./support/package');

const talkgen = pkg.talkgen();
const portrait = path.join(pkg.root, 'examples', 'portrait.png');

test("the package's version is the library's, and the library's ABI is the one it was built against", () => {
  assert.match(talkgen.version, /^\d+\.\d+\.\d+$/);
  assert.strictEqual(talkgen.version, require(path.join(pkg.dir, 'package.json')).version);
  const [major, minor, patch] = talkgen.version.split('.').map(Number);
  assert.strictEqual(talkgen.abiVersion, (major << 16) | (minor << 8) | patch);
});

test('encodeStill resolves to MP4 bytes without blocking the event loop', async () => {
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 1);
  const data = await talkgen.encodeStill({ image: portrait, text: 'Hello.', preset: 'ultrafast' });
  clearInterval(timer);
  assert.ok(Buffer.isBuffer(data));
  assert.strictEqual(data.subarray(4, 8).toString(), 'ftyp');
  assert.ok(ticks > 0, 'the event loop ran while encoding');
});

test('encodeStill writes a file and leaves nothing else', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'talkgen-node-'));
  const output = path.join(dir, 'still.mp4');
  assert.strictEqual(await talkgen.encodeStill({ image: portrait, text: 'Hi.', output, preset: 'ultrafast' }), undefined);
  assert.deepStrictEqual(fs.readdirSync(dir), ['still.mp4']);
  fs.rmSync(dir, { recursive: true });
});

test('a missing image rejects with code not_found', async () => {
  await assert.rejects(talkgen.encodeStill({ image: '/nonexistent/face.png', text: 'Hi.' }),
                       (e) => e.code === 'not_found' && /face\.png/.test(e.message));
});

test('exactly one of audio and text', async () => {
  await assert.rejects(talkgen.encodeStill({ image: portrait }), TypeError);
});
