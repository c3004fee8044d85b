'use strict';
// RemoteClient refuses unknown fields before sending anything, and never hands its bearer token to another
// origin: local servers (another port of 127.0.0.1 is another origin) record every request and its Authorization.
const test = require('node:test');
const assert = require('node:assert');
const http = require('http');
const pkg = require('./support/package');

const { RemoteClient, RemoteError } = pkg.remote();
const fields = pkg.fields();

const TOKEN = 'node-redirect-token-0123456789';
const STATS = { jobs: 0, succeeded: 0 };

/** An HTTP server on 127.0.0.1 recording { method, path, authorization, body } and answering answer(record). */
async function recordingServer(answer) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const record = { method: req.method, path: req.url, authorization: req.headers.authorization || null,
        body: Buffer.concat(chunks).toString() };
      requests.push(record);
      const { status, headers = {}, body = '' } = answer(record);
      res.writeHead(status, Object.assign({ 'Content-Length': Buffer.byteLength(body) }, headers));
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

const json = (payload, status = 200) =>
  ({ status, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) });
const redirect = (location, status = 307) => ({ status, headers: { Location: location } });

test('redirects never carry the token to another origin', async (t) => {
  const other = await recordingServer(() => json(STATS));
  t.after(() => other.close());
  const servers = [];
  t.after(() => Promise.all(servers.map((s) => s.close())));
  // The API server: redirects every request to where(record), except /moved/... which it answers itself.
  const apiServer = async (where) => {
    const s = await recordingServer((r) => (r.path.startsWith('/moved/') ? json(STATS) : redirect(...where(r))));
    servers.push(s);
    return s;
  };

  for (const status of [301, 302, 303, 307, 308]) {
    await t.test(`a ${status} to another origin is followed without the token`, async () => {
      const origin = await apiServer((r) => [other.url + r.path, status]);
      other.requests.length = 0;
      assert.deepStrictEqual(await new RemoteClient(origin.url, { token: TOKEN, maxRetries: 0 }).stats(), STATS);
      assert.deepStrictEqual(origin.requests.map((r) => r.authorization), [`Bearer ${TOKEN}`]);
      assert.deepStrictEqual(other.requests.map((r) => [r.path, r.authorization]), [['/v1/stats', null]]);
    });
  }

  await t.test('a redirect within the origin keeps the token', async () => {
    const origin = await apiServer((r) => ['/moved' + r.path]);  // relative Location
    other.requests.length = 0;
    assert.deepStrictEqual(await new RemoteClient(origin.url, { token: TOKEN, maxRetries: 0 }).stats(), STATS);
    assert.deepStrictEqual(origin.requests.map((r) => [r.path, r.authorization]),
      [['/v1/stats', `Bearer ${TOKEN}`], ['/moved/v1/stats', `Bearer ${TOKEN}`]]);
    assert.strictEqual(other.requests.length, 0);
  });

  await t.test('back to the origin from another host: still no token', async () => {
    const hosts = {};
    const bounce = await recordingServer(() => redirect(`${hosts.origin}/moved/v1/stats`));
    servers.push(bounce);
    const origin = await apiServer(() => [`${bounce.url}/bounce`]);
    hosts.origin = origin.url;
    assert.deepStrictEqual(await new RemoteClient(origin.url, { token: TOKEN, maxRetries: 0 }).stats(), STATS);
    assert.deepStrictEqual(bounce.requests.map((r) => [r.path, r.authorization]), [['/bounce', null]]);
    assert.deepStrictEqual(origin.requests.map((r) => [r.path, r.authorization]),
      [['/v1/stats', `Bearer ${TOKEN}`], ['/moved/v1/stats', null]]);
  });

  await t.test('a POST is not redirected (nothing reaches the other host)', async () => {
    const origin = await apiServer((r) => [other.url + r.path]);
    other.requests.length = 0;
    const client = new RemoteClient(origin.url, { token: TOKEN, maxRetries: 0 });
    await assert.rejects(client.submit({ refImageB64: 'aW1n', text: 'Hi.' }),
      (e) => e instanceof RemoteError && e.code === 'http_307' && e.status === 307);
    assert.strictEqual(other.requests.length, 0);
  });
});

test('a redirect from https to http is refused', async () => {
  // No TLS server here: a fetch that answers the https request with a redirect to plain http.
  const calls = [];
  const fakeFetch = async (url, init) => {
    calls.push([url, init.headers.Authorization, init.redirect]);
    return new Response(null, { status: 302, headers: { Location: 'http://api.example.test/v1/stats' } });
  };
  const client = new RemoteClient('https://api.example.test', { token: TOKEN, fetch: fakeFetch, maxRetries: 2 });
  await assert.rejects(client.stats(),
    (e) => e instanceof RemoteError && e.code === 'insecure_redirect' && e.status === 302);
  assert.deepStrictEqual(calls, [['https://api.example.test/v1/stats', `Bearer ${TOKEN}`, 'manual']]);  // not retried
});

test('unknown fields are refused before any request', async (t) => {
  const job = { id: '0'.repeat(32), job_id: 'k', state: 'queued' };
  const server = await recordingServer(() => json(job, 201));
  t.after(() => server.close());
  const client = new RemoteClient(server.url, { token: TOKEN, maxRetries: 0 });
  const image = Buffer.from('not really an image');

  await t.test('control: a good request reaches the server with documented fields only', async () => {
    await client.submit({ image, text: 'Hi.', quality: 'draft', numGpus: 1, max_duration_sec: 2 });
    assert.strictEqual(server.requests.length, 1);
    const body = JSON.parse(server.requests[0].body);
    for (const key of Object.keys(body)) assert.ok(fields.SERVER_JOB.has(key), key);
    assert.strictEqual(body.script_text, 'Hi.');
    assert.strictEqual(body.num_gpus, 1);
    assert.strictEqual(body.max_duration_sec, 2);
    server.requests.length = 0;
  });

  await t.test('a typo in a request, options or plan names the field and the accepted ones', async () => {
    const typo = (name, accepted) => (e) => e instanceof TypeError && e.code === 'invalid_argument' &&
      e.field === name && e.message.includes(`'${name}'`) && e.message.includes(accepted);
    assert.throws(() => client.submit({ image, text: 'Hi.', qualty: 'draft' }), typo('qualty', 'quality'));
    await assert.rejects(client.generate({ image, text: 'Hi.', qualty: 'draft' }), typo('qualty', 'refImageB64'));
    await assert.rejects(client.generate({ image, text: 'Hi.' }, { timeout: 5 }), typo('timeout', 'timeoutMs'));
    await assert.rejects(client.generateBatch([{ image, text: 'One.' }, { image, text: 'Two.', sed: 1 }]),
      typo('sed', 'seed'));
    assert.throws(() => client.plan(20, { gpu_type: 'H100' }), typo('gpu_type', 'gpuType'));
    await assert.rejects(client.recommendGpuCount(20, { budget: 1 }), typo('budget', 'budgetUsd'));
    await assert.rejects(client.stats({ sginal: null }), typo('sginal', 'signal'));
    await assert.rejects(client.listJobs({ limt: 5 }), typo('limt', 'limit'));
    assert.throws(() => new RemoteClient(server.url, { tokn: TOKEN }), typo('tokn', 'token'));
    assert.throws(() => client.submit({ image, text: 'Hi.', numGpus: 1, num_gpus: 2 }), /numGpus or num_gpus/);
    assert.strictEqual(server.requests.length, 0);
  });

  await t.test('a voice prompt is "not supported yet", in every spelling', async () => {
    for (const name of fields.VOICE_PROMPT) {
      await assert.rejects(client.generate({ image, text: 'Hi.', [name]: 'UklGRg==' }),
        (e) => e instanceof RemoteError && e.code === 'unsupported' &&
          e.message.includes('voice cloning from a voice prompt is not supported yet') && e.message.includes(name));
    }
    assert.strictEqual(server.requests.length, 0);
  });
});
