'use strict';
// talkgen for Node: loads the native addon (talkgen.node) and exposes a Promise API.
const path = require('path');
const fs = require('fs');

function loadAddon() {
  const candidates = process.env.TALKGEN_NODE_ADDON
    ? [process.env.TALKGEN_NODE_ADDON]  // an explicit choice is never silently replaced
    : [path.join(__dirname, 'talkgen.node'), path.join(__dirname, '..', '..', 'build', 'bindings', 'node', 'talkgen.node')];
  const tried = [];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) { tried.push(`${candidate} (missing)`); continue; }
    return require(candidate);
  }
  throw new Error(`talkgen: cannot find the native addon; tried ${tried.join('; ')}. ` +
                  'Build it (cmake --build --preset cpu) or set TALKGEN_NODE_ADDON.');
}

const addon = loadAddon();

/**
 * Encodes a still video of `image` for the length of the speech.
 * @returns {Promise<Buffer|undefined>} the MP4 bytes, or undefined when `output` is given.
 */
function encodeStill(options) {
  if (!options || typeof options !== 'object') throw new TypeError('encodeStill(options): options must be an object');
  if ((options.audio === undefined) === (options.text === undefined)) {
    return Promise.reject(new TypeError('give exactly one of audio or text'));
  }
  return addon.encodeStill(options);
}

module.exports = { version: addon.version, buildFeatures: addon.buildFeatures, encodeStill };
