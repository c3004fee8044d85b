'use strict';
// `npm install` of the talkgen package runs this. A package packed from a built tree carries the addon and
// libtalkgen_c in native/ (scripts/prepack.js): this only checks that they load here, so that a missing system
// library (libtorch, FFmpeg, espeak-ng, ...) is reported now, by name, rather than at the first require('talkgen').
// A package packed without them (TALKGEN_PACK_WITHOUT_ADDON=1) builds the addon with CMake against an installed
// talkgen (find_package(talkgen); TALKGEN_PREFIX is its install prefix when not a default one) and node-addon-api
// (NODE_ADDON_API_DIR, or the node-addon-api package where Node finds it). Anything missing stops the install with
// what to do. In talkgen's source tree (not under node_modules) there is nothing to do: the build tree has the addon.
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const packageDir = path.join(__dirname, '..');
const nativeDir = path.join(packageDir, 'native');
const addon = path.join(nativeDir, 'talkgen.node');

function fail(message) {
  process.stderr.write(`talkgen install: ${message}\n`);
  process.exit(1);
}

function nodeAddonApiDir() {
  if (process.env.NODE_ADDON_API_DIR) return process.env.NODE_ADDON_API_DIR;
  try {
    return path.dirname(require.resolve('node-addon-api/package.json', { paths: [packageDir, process.cwd()] }));
  } catch (_) {
    fail('this package has no prebuilt addon (it was packed with TALKGEN_PACK_WITHOUT_ADDON=1) and building it needs ' +
         "node-addon-api's headers: install node-addon-api@8 next to it or set NODE_ADDON_API_DIR, or install a " +
         'package packed from a built talkgen tree');
  }
  return undefined;
}

function build() {
  const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (cmake.error || cmake.status !== 0) {
    fail('this package has no prebuilt addon and building it needs CMake (>= 3.20), a C++17 compiler, the Node ' +
         'headers and an installed talkgen (cmake --install of its build); cmake was not found on PATH');
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'talkgen-node-build-'));
  const configure = ['-S', packageDir, '-B', work, '-DCMAKE_BUILD_TYPE=Release', `-DOUTPUT_DIR=${nativeDir}`,
    `-DNODE_ADDON_API_DIR=${nodeAddonApiDir()}`];
  if (process.env.TALKGEN_PREFIX) configure.push(`-DCMAKE_PREFIX_PATH=${process.env.TALKGEN_PREFIX}`);
  try {
    execFileSync('cmake', configure, { stdio: 'inherit' });
    execFileSync('cmake', ['--build', work, '--parallel'], { stdio: 'inherit' });
  } catch (e) {
    fail(`building the addon with CMake failed (${e.message}). It needs an installed talkgen: give its install ` +
         'prefix as TALKGEN_PREFIX (e.g. the --prefix of `cmake --install build`)');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Loads the addon in a child process (a failed dlopen must not take this script down) and says why it failed. */
function check() {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
  if (r.status === 0) return;
  let missing = '';
  try {
    missing = execFileSync('ldd', [addon], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('not found'))
      .map((l) => l.trim()).join('; ');
  } catch (_) { /* ldd itself failed: the loader's message below says enough */ }
  fail(`the addon ${addon} does not load here: ${(r.stderr || '').trim().split('\n').slice(0, 3).join(' ')}` +
       (missing ? `\nmissing libraries: ${missing} (install them: talkgen needs libtorch 1.13, FFmpeg, espeak-ng, ` +
                  'ICU and fmt, as scripts/setup.sh installs them)' : ''));
}

if (!packageDir.split(path.sep).includes('node_modules')) {
  process.stdout.write('talkgen install: in the source tree the addon comes from the build tree: nothing to do\n');
} else {
  if (!fs.existsSync(addon)) build();
  check();
}
