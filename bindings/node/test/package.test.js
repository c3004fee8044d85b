'use strict';
// The npm package as installed from its tarball: it carries the addon and libtalkgen_c, loads them from wherever it
// is installed with no environment variable, and 'talkgen/remote' needs neither.
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const pkg = require('./support/package');

/** Runs `code` with node in `cwd` with a bare environment (no TALKGEN_* variable, no LD_LIBRARY_PATH). */
function runNode(code, cwd) {
  return spawnSync(process.execPath, ['-e', code], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH } });
}

test('the tarball carries the addon and libtalkgen_c, not the tests', () => {
  const files = execFileSync('tar', ['tzf', pkg.tarball], { encoding: 'utf8' }).split('\n').filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  assert.ok(files.includes('native/talkgen.node'), files.join(' '));
  assert.ok(files.some((f) => /^native\/libtalkgen_c\.so\.\d+$/.test(f)), files.join(' '));
  for (const f of ['index.js', 'remote.js', 'index.d.ts', 'remote.d.ts', 'README.md', 'scripts/install.js']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  assert.deepStrictEqual(files.filter((f) => f.startsWith('test/') || f.startsWith('node_modules/')), []);
});

test('the installed addon loads libtalkgen_c from next to itself (RUNPATH $ORIGIN)', () => {
  const addon = path.join(pkg.dir, 'native', 'talkgen.node');
  assert.match(execFileSync('readelf', ['-d', addon], { encoding: 'utf8' }), /RUNPATH.*\[\$ORIGIN\]/);
  const ldd = execFileSync('ldd', [addon], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  const line = ldd.split('\n').find((l) => l.includes('libtalkgen_c'));
  assert.ok(line && line.includes(path.join(pkg.dir, 'native')), line);
});

test("require('talkgen') works in the folder it is installed in, with no environment variable", () => {
  const r = runNode("const t = require('talkgen'); process.stdout.write(t.version + ' ' + typeof t.Client)", pkg.app);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout, `${require(path.join(pkg.dir, 'package.json')).version} function`);
});

test("without the addon, 'talkgen/remote' still works and 'talkgen' says what is missing", (t) => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'talkgen-node-noaddon-'));
  t.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const copy = path.join(scratch, 'node_modules', 'talkgen');
  fs.cpSync(pkg.dir, copy, { recursive: true, filter: (f) => path.basename(f) !== 'native' });
  const remote = runNode("const { RemoteClient } = require('talkgen/remote'); " +
    "process.stdout.write(new RemoteClient('http://127.0.0.1:9').maxRetries + '')", scratch);
  assert.strictEqual(remote.status, 0, remote.stderr);
  assert.strictEqual(remote.stdout, '3');
  const local = runNode("require('talkgen')", scratch);
  assert.notStrictEqual(local.status, 0);
  assert.match(local.stderr, /cannot find the native addon/);
  assert.match(local.stderr, /talkgen\/remote/);
  // Installing such a package builds the addon, and says what the build needs when it is not there.
  const install = spawnSync(process.execPath, [path.join(copy, 'scripts', 'install.js')],
    { cwd: scratch, encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.strictEqual(install.status, 1, install.stderr);
  assert.match(install.stderr, /no prebuilt addon.*node-addon-api/s);
});
