'use strict';
// The tests use the package as a user gets it: `npm pack` here (prepack copies the built addon and libtalkgen_c in),
// then `npm install <tarball>` into a scratch folder, offline, and every test requires it from there
// (TALKGEN_TEST_PACKAGE), never from this source tree. TALKGEN_BUILD_DIR names the build tree (default ../../build).
// Extra arguments are test files to run instead of all of test/*.test.js.
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const packageDir = path.join(__dirname, '..');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'talkgen-node-test-'));
// A cache of its own: the tests neither read nor fill the user's npm cache.
const npmEnv = { ...process.env, npm_config_cache: path.join(scratch, 'npm-cache') };
const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'],
  { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: npmEnv });

let status = 1;
try {
  const started = Date.now();
  const tarball = path.join(scratch, npm(['pack', '--pack-destination', scratch], packageDir).trim().split('\n').pop());
  const app = path.join(scratch, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'talkgen-test-app', private: true }));
  npm(['install', '--offline', '--no-package-lock', tarball], app);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`talkgen: packed and installed ${path.basename(tarball)} in ${seconds} s\n`);

  const all = fs.readdirSync(path.join(packageDir, 'test')).filter((f) => f.endsWith('.test.js'));
  const files = process.argv.length > 2 ? process.argv.slice(2) : all.map((f) => path.join('test', f));
  const env = { ...process.env, TALKGEN_TEST_PACKAGE: path.join(app, 'node_modules', 'talkgen'), TALKGEN_TEST_APP: app,
    TALKGEN_TEST_TARBALL: tarball };
  delete env.TALKGEN_NODE_ADDON;  // the installed package must find its addon by itself
  status = spawnSync(process.execPath, ['--test', ...files], { cwd: packageDir, stdio: 'inherit', env }).status;
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
process.exit(status === null ? 1 : status);
