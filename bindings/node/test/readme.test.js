'use strict';
// Every ```js block of the installed package's README.md runs as written, from a folder of the app the package is
// installed in (so require('talkgen') is the installed package), with the demo model and, for RemoteClient, a local
// `talkgen serve --model demo` (TALKGEN_URL).
const test = require('node:test');
const assert = require('node:assert');
const { execFile } = require('child_process');
const fs = require('fs');
const path = require('path');
const pkg = require('./support/package');
const { startServer } = require('./support/server');

/** [{ title, code }] of the README's js blocks; title: the section they are in. */
function examples() {
  const readme = fs.readFileSync(path.join(pkg.dir, 'README.md'), 'utf8');
  return [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => {
    const headings = [...readme.slice(0, m.index).matchAll(/^## (.+)$/gm)];
    return { title: headings.length ? headings[headings.length - 1][1] : 'top', code: m[1] };
  });
}

function run(file, cwd, env) {
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd, env, timeout: 180000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr }));
  });
}

test('the README examples run', async (t) => {
  const blocks = examples();
  assert.ok(blocks.length >= 6, `the README has its examples (${blocks.length} found)`);
  const server = await startServer();
  t.after(() => server.stop());
  const work = fs.mkdtempSync(path.join(pkg.app, 'examples-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));
  fs.copyFileSync(path.join(pkg.root, 'examples', 'portrait.png'), path.join(work, 'portrait.png'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, TALKGEN_URL: server.url };

  for (const [i, { title, code }] of blocks.entries()) {
    await t.test(`${i + 1}. ${title}`, async () => {
      const file = path.join(work, `example-${i + 1}.js`);
      fs.writeFileSync(file, code);
      const r = await run(file, work, env);
      assert.strictEqual(r.code, 0, `example ${i + 1} (${title}) failed:\n${r.stderr}\n${r.stdout}`);
      assert.notStrictEqual(r.stdout.trim(), '', 'it says what it did');
      assert.doesNotMatch(r.stderr, /Error|\[talkgen error\]/, r.stderr);
    });
  }
  // What the examples say they write, and what they say they do not.
  for (const made of ['hello.mp4', 'one.mp4', 'three.mp4', 'remote.mp4', 'again.mp4']) {
    assert.ok(fs.statSync(path.join(work, made)).size > 1000, `${made} was written`);
  }
  assert.ok(!fs.existsSync(path.join(work, 'never.mp4')), 'a cancelled job writes nothing');
});
