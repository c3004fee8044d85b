'use strict';
// `npm pack` / `npm publish` run this first: it puts the built addon and the talkgen libraries it loads into
// native/, so that the tarball works wherever it is installed, offline and with no environment variable (the addon's
// RPATH is $ORIGIN: it finds libtalkgen_c next to itself). System libraries (libtorch, FFmpeg, espeak-ng, ICU: Debian
// packages) are not copied; scripts/install.js checks at install that they are there.
//
// The build tree is ../../build (TALKGEN_BUILD_DIR overrides it). Without a built addon this fails, saying how to
// build it; TALKGEN_PACK_WITHOUT_ADDON=1 packs the sources only, and `npm install` then builds the addon with CMake
// against an installed talkgen (scripts/install.js). `node scripts/prepack.js --clean` (postpack) removes native/.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const packageDir = path.join(__dirname, '..');
const nativeDir = path.join(packageDir, 'native');

function fail(message) {
  process.stderr.write(`talkgen prepack: ${message}\n`);
  process.exit(1);
}

/** name -> resolved path of each shared library `file` needs, as the dynamic loader finds them now. */
function neededLibraries(file) {
  const env = { ...process.env };
  delete env.LD_LIBRARY_PATH;  // what the RPATHs give, not what this shell happens to add
  const lines = execFileSync('ldd', [file], { env, encoding: 'utf8' }).split('\n');
  const missing = lines.filter((l) => l.includes('=> not found')).map((l) => l.trim());
  if (missing.length) fail(`${file} needs libraries the loader cannot find: ${missing.join('; ')}`);
  const libraries = new Map();
  for (const line of lines) {
    const m = line.match(/^\s*(\S+)\s+=>\s+(\/\S+)/);
    if (m) libraries.set(m[1], m[2]);
  }
  return libraries;
}

function isInside(file, dir) {
  const relative = path.relative(fs.realpathSync(dir), fs.realpathSync(file));
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** Copies `from` (following links) to native/<name> without its debug sections, which are most of its size. */
function copyLibrary(from, name) {
  const to = path.join(nativeDir, name);
  execFileSync('objcopy', ['--strip-debug', fs.realpathSync(from), to]);
  fs.chmodSync(to, 0o755);
  return to;
}

function pack() {
  const buildDir = path.resolve(process.env.TALKGEN_BUILD_DIR || path.join(packageDir, '..', '..', 'build'));
  const addon = path.join(buildDir, 'bindings', 'node', 'talkgen.node');
  fs.rmSync(nativeDir, { recursive: true, force: true });
  if (!fs.existsSync(addon)) {
    if (process.env.TALKGEN_PACK_WITHOUT_ADDON === '1') {
      process.stderr.write('talkgen prepack: packing without the addon (TALKGEN_PACK_WITHOUT_ADDON=1): npm install ' +
                           'will build it with CMake against an installed talkgen\n');
      return;
    }
    fail(`no built addon at ${addon}. Build it first (cmake --build ${buildDir} --target talkgen_node), give the ` +
         'build folder as TALKGEN_BUILD_DIR, or set TALKGEN_PACK_WITHOUT_ADDON=1 to pack a package that builds the ' +
         'addon at install');
  }
  fs.mkdirSync(nativeDir);
  copyLibrary(addon, 'talkgen.node');
  // Every library of the build tree the addon loads, and theirs in turn (each under the name the loader asks for).
  const queue = [addon];
  const copied = new Set();
  while (queue.length) {
    for (const [name, resolved] of neededLibraries(queue.shift())) {
      if (copied.has(name) || !isInside(resolved, buildDir)) continue;
      copyLibrary(resolved, name);
      copied.add(name);
      queue.push(resolved);
    }
  }
  // The copy must stand alone: nothing it loads may come from the build tree (an absolute RPATH would hide a library
  // left out here until the build tree is gone).
  const packed = path.join(nativeDir, 'talkgen.node');
  for (const [name, resolved] of neededLibraries(packed)) {
    if (isInside(resolved, buildDir)) {
      fail(`the packed addon still loads ${name} from the build tree (${resolved}): its RPATH must be $ORIGIN`);
    }
  }
  const version = require(path.join(packageDir, 'package.json')).version;
  const built = require(packed).version;
  if (built !== version) {
    fail(`package.json says version ${version} but the built library is ${built}: make them agree`);
  }
  process.stderr.write(`talkgen prepack: native/ holds ${fs.readdirSync(nativeDir).join(', ')} from ${buildDir}\n`);
}

if (process.argv.includes('--clean')) fs.rmSync(nativeDir, { recursive: true, force: true });
else pack();
