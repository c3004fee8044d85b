'use strict';
// Where the tests find talkgen: the package installed from its `npm pack` tarball by scripts/run_tests.js.
const path = require('path');

const dir = process.env.TALKGEN_TEST_PACKAGE;
if (!dir) {
  throw new Error('run the tests with `npm test` (scripts/run_tests.js): they use the package installed from its ' +
                  'npm pack tarball, named by TALKGEN_TEST_PACKAGE');
}

module.exports = {
  /** The installed package's folder. */
  dir,
  /** The folder it is installed in (node_modules/talkgen is there); code run from it can require('talkgen'). */
  app: process.env.TALKGEN_TEST_APP,
  tarball: process.env.TALKGEN_TEST_TARBALL,
  /** The talkgen source tree: test data (examples/portrait.png, docs/). */
  root: path.join(__dirname, '..', '..', '..', '..'),
  talkgen: () => require(dir),
  remote: () => require(path.join(dir, 'remote')),
  fields: () => require(path.join(dir, 'fields')),
};
