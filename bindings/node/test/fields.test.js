'use strict';
// The accepted names (fields.js) match their sources (index.d.ts, docs/server-api.md), and the local Client
// refuses anything else before any work: a TypeError naming the field, or 'unsupported' for a voice prompt.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const pkg = require('./support/package');

const fields = pkg.fields();
const root = pkg.root;
const portrait = path.join(root, 'examples', 'portrait.png');

/** The keys of `interface name { ... }` in a .d.ts file of the installed package. */
function declaredKeys(file, name) {
  const source = fs.readFileSync(path.join(pkg.dir, file), 'utf8');
  const body = source.match(new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`))[1];
  return new Set([...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]));
}

/** The JSON fields docs/server-api.md gives for POST /v1/jobs and POST /v1/plan. */
function documentedFields() {
  const doc = fs.readFileSync(path.join(root, 'docs', 'server-api.md'), 'utf8');
  const jobs = doc.match(/### `POST \/v1\/jobs`[\s\S]*?```json\n([\s\S]*?)```/)[1];
  const plan = doc.match(/`POST \/v1\/plan` `(\{[\s\S]*?\})`/)[1];
  return { jobs: new Set([...jobs.matchAll(/^\s*"(\w+)"\s*:/gm)].map((m) => m[1])),
    plan: new Set(Object.keys(JSON.parse(plan))) };
}

const sorted = (set) => [...set].sort();
const declared = (file, name) => sorted(declaredKeys(file, name));

test('the accepted sets are the declared and documented ones', () => {
  assert.deepStrictEqual(sorted(fields.JOB), declared('index.d.ts', 'Job'));
  assert.deepStrictEqual(sorted(fields.RUN_OPTIONS), declared('index.d.ts', 'RunOptions'));
  assert.deepStrictEqual(sorted(fields.CLIENT_OPTIONS), declared('index.d.ts', 'ClientOptions'));
  assert.deepStrictEqual(sorted(fields.ENCODE_STILL), declared('index.d.ts', 'EncodeStillOptions'));
  assert.deepStrictEqual(sorted(fields.PLAN_OPTIONS), declared('index.d.ts', 'PlanOptions'));
  assert.deepStrictEqual(sorted(fields.WAIT_OPTIONS), declared('index.d.ts', 'WaitOptions'));
  assert.deepStrictEqual(sorted(fields.REMOTE_CLIENT_OPTIONS), declared('remote.d.ts', 'RemoteClientOptions'));
  assert.deepStrictEqual(sorted(fields.REMOTE_GENERATE_OPTIONS), declared('remote.d.ts', 'GenerateOptions'));
  assert.deepStrictEqual(sorted(fields.REMOTE_PLAN_OPTIONS), declared('remote.d.ts', 'PlanOptions'));
  // Every camelCase request name RemoteClient takes is declared (the server's snake_case names are accepted too).
  assert.deepStrictEqual(declared('remote.d.ts', 'GenerateRequest'),
    sorted([...fields.REMOTE_JOB].filter((n) => !n.includes('_'))));
  const documented = documentedFields();
  const voicePrompt = (n) => fields.VOICE_PROMPT.has(n);  // the docs may list it as not supported yet
  assert.deepStrictEqual(sorted(fields.SERVER_JOB.keys()), sorted([...documented.jobs].filter((n) => !voicePrompt(n))));
  assert.deepStrictEqual(sorted(['duration_sec', ...fields.SERVER_PLAN.keys()]), sorted(documented.plan));
});

test('the local Client refuses unknown fields before any work', async (t) => {
  const talkgen = pkg.talkgen();
  const typo = (name, accepted) => (e) => e instanceof TypeError && e.code === 'invalid_argument' && e.field === name &&
    e.message.includes(`'${name}'`) && e.message.includes(accepted);
  assert.throws(() => new talkgen.Client({ model: 'demo', device: 'cpu', maxAtempts: 1 }),
    typo('maxAtempts', 'maxAttempts'));
  await assert.rejects(talkgen.encodeStill({ image: portrait, text: 'Hi.', fsp: 25 }), typo('fsp', 'fps'));

  const client = new talkgen.Client({ model: 'demo', device: 'cpu', maxAttempts: 1 });
  t.after(() => client.close());
  const tiny = { image: portrait, text: 'Hi.', quality: 'draft', mode: 'clip', preset: 'ultrafast' };
  await assert.rejects(client.generate({ ...tiny, negative_prompt: 'blur' }),
    typo('negative_prompt', 'negativePrompt'));
  await assert.rejects(client.generate({ ...tiny, onProgres: () => {} }), typo('onProgres', 'onProgress'));
  await assert.rejects(client.generateBatch([tiny, { ...tiny, sed: 1 }]), typo('sed', 'seed'));
  await assert.rejects(client.generateBatch([tiny], { signl: null }), typo('signl', 'signal'));
  assert.throws(() => client.submit({ ...tiny, sed: 1 }), typo('sed', 'seed'));
  assert.throws(() => client.plan(20, { deadlineSeconds: 60 }), typo('deadlineSeconds', 'deadlineSec'));
  for (const name of fields.VOICE_PROMPT) {
    await assert.rejects(client.generate({ ...tiny, [name]: 'me.wav' }),
      (e) => e.code === 'unsupported' && e.status === 3 && e.message.includes(name) &&
        e.message.includes('voice cloning from a voice prompt is not supported yet'));
  }
  assert.strictEqual(client.stats().jobs, 0);  // nothing ran, not even the good job of the batch
});
