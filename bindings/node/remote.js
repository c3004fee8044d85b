'use strict';
// RemoteClient: talkgen on a GPU host (`talkgen serve`), from Node, over its HTTP API (docs/server-api.md)
// with fetch. Needs no native addon: `require('talkgen/remote')` works on machines without the library.
//
// Method names and behaviour follow the original multi-GPU system's TypeScript client (recommendGpuCount,
// estimateTime, generate, generateBatch, resetStats, maxRetries) and the Python binding's (stats, plan, submit,
// wait, cancel). Requests are retried (maxRetries, default 3, as that client) with exponential backoff and jitter
// on connection errors, 429 and 5xx only; a job is submitted with a job_id (made here when the caller gives none),
// so a retried submit returns the job already made instead of running it twice.
//
// Option and field names the API does not have are refused before any request (TypeError naming them; a voice
// prompt is RemoteError 'unsupported'). The bearer token goes only to the server's own origin: redirects are
// followed here, not by fetch, so that this holds for any fetch given in options (see send()).
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const fields = require('./fields');

const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
const DEFAULT_MAX_RETRIES = 3;  // as the TypeScript client of the GPU service this replaces
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;  // as urllib, the Python RemoteClient's

/** An error from the server ({code, message}) or on the way to it. `code` is a talkgen error code. */
class RemoteError extends Error {
  constructor(code, message, { status = 0, jobId, cause } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = 'RemoteError';
    this.code = code;
    this.status = status;       // HTTP status, 0 when no answer came
    if (jobId !== undefined) this.jobId = jobId;
  }
}

function abortError(signal) {
  const reason = signal && signal.reason;
  if (reason instanceof RemoteError) return reason;
  return new RemoteError('cancelled', `cancelled${reason && reason.message ? `: ${reason.message}` : ''}`);
}

/** Waits ms, or rejects as soon as the signal aborts. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) { reject(abortError(signal)); return; }
    const onAbort = () => { clearTimeout(timer); reject(abortError(signal)); };
    const timer = setTimeout(() => { if (signal) signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** One signal that aborts when any of the given ones does (AbortSignal.any is Node >= 20.3). */
function anySignal(signals) {
  const controller = new AbortController();
  for (const s of signals.filter(Boolean)) {
    if (s.aborted) { controller.abort(s.reason); break; }
    s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

/** maxRetries, or maxAttempts - 1 (its older name); giving both is a mistake. */
function retriesFrom(options) {
  const { maxRetries, maxAttempts } = options || {};
  if (maxRetries !== undefined && maxAttempts !== undefined) {
    throw new TypeError('new RemoteClient: give maxRetries (retries after the first try) or its older form ' +
      'maxAttempts (tries in all), not both');
  }
  if (maxAttempts !== undefined) {
    if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
      throw new TypeError(`maxAttempts must be an integer >= 1, got ${maxAttempts}`);
    }
    return maxAttempts - 1;
  }
  if (maxRetries === undefined) return DEFAULT_MAX_RETRIES;
  if (!(Number.isInteger(maxRetries) && maxRetries >= 0)) {
    throw new TypeError(`maxRetries must be an integer >= 0, got ${maxRetries}`);
  }
  return maxRetries;
}

function isRetryableStatus(status) { return status === 429 || status >= 500; }

/** checkFields with RemoteClient's error for a voice prompt. */
function checkFields(where, object, accepted) {
  fields.checkFields(where, object, accepted, (message) => new RemoteError('unsupported', message));
}

function toBase64(source, what) {
  if (Buffer.isBuffer(source) || source instanceof Uint8Array) return Buffer.from(source).toString('base64');
  if (typeof source === 'string') {
    try { return fs.readFileSync(source).toString('base64'); } catch (e) {
      throw new RemoteError(e.code === 'ENOENT' ? 'not_found' : 'io_error',
        `${what}: cannot read '${source}' (${e.message}); give a readable file path or a Buffer`);
    }
  }
  throw new TypeError(`${what} must be a file path or a Buffer`);
}

/** The server's request body from a GenerateRequest (file paths and Buffers become base64). */
function requestBody(request, where) {
  if (!request || typeof request !== 'object') throw new TypeError(`${where}(request): request must be an object`);
  checkFields(where, request, fields.REMOTE_JOB);
  const present = (v) => v !== undefined && v !== null;
  // Each server field by whichever of its names the caller used (two names of one field is a mistake).
  const given = {};
  for (const [server, names] of fields.SERVER_JOB) {
    const used = names.filter((n) => present(request[n]));
    if (used.length > 1) throw new TypeError(`${where}: give ${used.join(' or ')} (the same field), not both`);
    if (used.length) given[server] = request[used[0]];
  }
  const { image, audio, audio2 } = request;
  const body = {};
  if (present(image) === present(given.ref_image_b64)) {
    throw new TypeError(`${where}: give exactly one of image (a path or Buffer) or refImageB64`);
  }
  body.ref_image_b64 = present(image) ? toBase64(image, 'image') : given.ref_image_b64;

  if (present(request.text) && present(given.script_text)) {
    throw new TypeError(`${where}: give text or scriptText (the same field), not both`);
  }
  const text = present(request.text) ? request.text : given.script_text;
  if ([audio, given.audio_b64, text].filter(present).length !== 1) {
    throw new TypeError(`${where}: give exactly one of audio (path or Buffer), audioB64 or text`);
  }
  if (present(audio)) body.audio_b64 = toBase64(audio, 'audio');
  else if (!present(given.audio_b64)) body.script_text = String(text);

  // A second speaker: their recorded speech, the timing and (both or neither) the people's boxes.
  if (present(audio2) && present(given.audio2_b64)) {
    throw new TypeError(`${where}: give at most one of audio2 (path or Buffer) or audio2B64`);
  }
  if (present(audio2)) body.audio2_b64 = toBase64(audio2, 'audio2');

  for (const [server, value] of Object.entries(given)) {
    if (!(server in body)) body[server] = value;
  }
  // The idempotency key: a retried submit after a lost answer must find this job, not make another.
  if (!body.job_id) body.job_id = `node-${crypto.randomUUID()}`;
  return body;
}

/** The result of a finished job (camelCase view of the server's job object, plus the video). */
function resultFrom(job, baseUrl) {
  const r = job.result || {};
  return {
    ok: true,
    id: job.id,
    jobId: job.job_id,
    state: job.state,
    videoUrl: new URL(r.video_url || `/v1/jobs/${job.id}/video`, baseUrl).toString(),
    bytes: r.bytes,
    frames: r.frames,
    width: r.width,
    height: r.height,
    fps: r.fps,
    durationSeconds: r.duration_seconds,
    gpus: r.gpus,
    devices: r.devices || [],
    gpuSeconds: r.gpu_seconds,
    costUsd: r.cost_usd,
    attempts: r.attempts,
    untrainedModel: Boolean(r.untrained_model),
    estimatedSeconds: job.plan ? job.plan.estimated_seconds : null,
    timings: job.timings || null,
    job,
  };
}

class RemoteClient {
  /**
   * @param {string} baseUrl e.g. 'http://gpu-host:8080'
   * @param {object} [options] token, timeoutMs (default 30 min), maxRetries (retries after the first try of a
   *   request, 3; maxAttempts = maxRetries + 1 is the older name), baseDelayMs (500), maxDelayMs (30000),
   *   requestTimeoutMs (per HTTP request, 60000), pollIntervalMs (1000), fetch
   */
  constructor(baseUrl, options = {}) {
    if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) {
      throw new TypeError(`RemoteClient(baseUrl): expected an http(s) URL such as 'http://127.0.0.1:8080', got ${JSON.stringify(baseUrl)}`);
    }
    checkFields('new RemoteClient', options, fields.REMOTE_CLIENT_OPTIONS);
    this.baseUrl = baseUrl.replace(/\/+$/, '') + '/';
    this.token = options.token || '';
    this.timeoutMs = options.timeoutMs !== undefined ? options.timeoutMs : DEFAULT_TIMEOUT_MS;
    this.maxRetries = retriesFrom(options);
    this.baseDelayMs = options.baseDelayMs !== undefined ? options.baseDelayMs : 500;
    this.maxDelayMs = options.maxDelayMs !== undefined ? options.maxDelayMs : 30000;
    this.requestTimeoutMs = options.requestTimeoutMs !== undefined ? options.requestTimeoutMs : 60000;
    this.pollIntervalMs = options.pollIntervalMs !== undefined ? options.pollIntervalMs : 1000;
    this.fetch = options.fetch || globalThis.fetch;
    if (typeof this.fetch !== 'function') throw new TypeError('RemoteClient needs fetch (Node >= 18) or options.fetch');
  }

  /** Tries per request, the first included (maxRetries + 1). */
  get maxAttempts() { return this.maxRetries + 1; }

  url(route) { return new URL(route.replace(/^\//, ''), this.baseUrl).toString(); }

  headers(extra) {
    const h = Object.assign({ Accept: 'application/json' }, extra || {});
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    return h;
  }

  /**
   * fetch, following redirects here instead of in fetch so that the token never leaves the server's origin
   * whatever fetch implementation was given: a redirect within the origin (scheme, host and port) keeps the
   * Authorization header; once a redirect has gone to another origin it is gone for the rest of the chain (a
   * Location from another host is not trusted with it, even one pointing back); a redirect from https to http is
   * refused (RemoteError 'insecure_redirect'). As urllib does for the Python client, only GET and HEAD follow
   * redirects; for other methods the 3xx answer is returned (and becomes a RemoteError http_3xx, never retried).
   */
  async send(url, init) {
    let current = new URL(url);
    let withToken = true;
    for (let hops = 0; ; hops++) {
      const headers = Object.assign({}, init.headers);
      if (!withToken) delete headers.Authorization;
      const response = await this.fetch(current.toString(), Object.assign({}, init, { headers, redirect: 'manual' }));
      const location = response.headers.get('location');
      const method = (init.method || 'GET').toUpperCase();
      if (!REDIRECTS.has(response.status) || !location || !['GET', 'HEAD'].includes(method) || hops >= MAX_REDIRECTS) {
        return response;
      }
      const next = new URL(location, current);
      if (response.body) await response.body.cancel().catch(() => {});  // frees the connection
      if (current.protocol === 'https:' && next.protocol !== 'https:') {
        throw new RemoteError('insecure_redirect', `${method} ${current}: the server redirected to ${next}, from ` +
          'https to another scheme; refused (the request would leave TLS). Give RemoteClient the URL the server ' +
          'really answers on', { status: response.status });
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return response;
      if (next.origin !== current.origin) withToken = false;
      current = next;
    }
  }

  /** Backoff before attempt n+1 (n >= 1): full jitter over an exponentially growing cap. */
  backoffMs(attempt, retryAfterSeconds) {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    const jittered = cap / 2 + Math.random() * (cap / 2);
    return retryAfterSeconds > 0 ? Math.max(jittered, Math.min(this.maxDelayMs, retryAfterSeconds * 1000)) : jittered;
  }

  /**
   * One API call with retries. Resolves to the fetch Response (ok) for raw reads, or the parsed JSON.
   * Retries connection errors, 429 and 5xx; anything else is thrown at once as a RemoteError.
   */
  async request(method, route, { body, signal, raw = false, headers } = {}) {
    let lastError;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (signal && signal.aborted) throw abortError(signal);
      let response;
      // Each attempt has its own time limit (a hung connection is a connection error) besides the caller's signal.
      const perRequest = raw ? null : new AbortController();
      const timer = perRequest ? setTimeout(() => perRequest.abort(new RemoteError('timeout',
        `${method} ${route}: no answer within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs) : null;
      try {
        response = await this.send(this.url(route), {
          method,
          headers: this.headers(Object.assign(body !== undefined ? { 'Content-Type': 'application/json' } : {}, headers)),
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: perRequest ? anySignal([signal, perRequest.signal]) : signal,
        });
      } catch (e) {
        if (timer) clearTimeout(timer);
        if (signal && signal.aborted) throw abortError(signal);
        if (e instanceof RemoteError && e.code === 'insecure_redirect') throw e;
        lastError = new RemoteError(perRequest && perRequest.signal.aborted ? 'timeout' : 'connection_error',
          `${method} ${this.url(route)}: ${perRequest && perRequest.signal.aborted ? perRequest.signal.reason.message
            : (e.cause && e.cause.message) || e.message}`, { cause: e });
        if (attempt < this.maxAttempts) await sleep(this.backoffMs(attempt), signal);
        continue;
      }
      try {
        if (response.ok) {
          if (raw) return response;
          const text = await response.text();
          return text ? JSON.parse(text) : null;
        }
        const error = await this.errorFrom(method, route, response);
        if (!isRetryableStatus(response.status) || attempt === this.maxAttempts) throw error;
        lastError = error;
        await sleep(this.backoffMs(attempt, Number(response.headers.get('retry-after')) || 0), signal);
      } finally {
        if (timer) clearTimeout(timer);
      }
    }
    lastError.message += ` (gave up after ${this.maxAttempts} attempts)`;
    throw lastError;
  }

  async errorFrom(method, route, response) {
    let code = `http_${response.status}`, message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.code) code = body.code;
      if (body && body.message) message = body.message;
    } catch (_) { /* not JSON: keep the status line */ }
    return new RemoteError(code, `${method} ${route}: ${message}`, { status: response.status });
  }

  // ------------------------------------------------------------------------------------------------
  // Planning

  /** The Planner's full answer (options per GPU count, recommendation) for a job of durationSec. */
  plan(durationSec, options = {}) {
    checkFields('plan', options, fields.REMOTE_PLAN_OPTIONS);
    const { quality, resolution, budgetUsd, deadlineSec, gpuType, gpusAvailable, signal } = options || {};
    if (!(durationSec > 0)) throw new TypeError(`durationSec must be > 0, got ${durationSec}`);
    const body = { duration_sec: durationSec };
    if (quality) body.quality = quality;
    if (resolution) body.resolution = resolution;
    if (budgetUsd !== undefined) body.budget_usd = budgetUsd;
    if (deadlineSec !== undefined) body.deadline_sec = deadlineSec;
    if (gpuType) body.gpu_type = gpuType;
    if (gpusAvailable !== undefined) body.gpus_available = gpusAvailable;
    return this.request('POST', '/v1/plan', { body, signal });
  }

  /** How many GPUs to use for a job of durationSec seconds (within budget/deadline when given). */
  async recommendGpuCount(durationSec, options = {}) {
    const plan = await this.plan(durationSec, options);
    if (plan.recommended_gpus === null || plan.recommended_gpus === undefined) {
      throw new RemoteError('invalid_argument', `no GPU count meets the request: ${plan.recommendation || 'see plan()'}`);
    }
    return plan.recommended_gpus;
  }

  /** Predicted wall time in seconds of a job of durationSec on numGpus GPUs. */
  async estimateTime(durationSec, numGpus, options = {}) {
    if (!(Number.isInteger(numGpus) && numGpus >= 1)) throw new TypeError(`numGpus must be an integer >= 1, got ${numGpus}`);
    const plan = await this.plan(durationSec, Object.assign({}, options,
      { gpusAvailable: Math.max(numGpus, options.gpusAvailable || 0) }));
    const option = (plan.options || []).find((o) => o.gpus === numGpus);
    if (!option) throw new RemoteError('invalid_argument', `the plan has no option with ${numGpus} GPUs`);
    return option.seconds;
  }

  // ------------------------------------------------------------------------------------------------
  // Jobs

  /** Submits a job (idempotent by job_id) and resolves to the server's job object. */
  submit(request, options = {}) {
    checkFields('submit (options)', options, fields.SIGNAL_ONLY);
    return this.request('POST', '/v1/jobs', { body: requestBody(request, 'submit'), signal: (options || {}).signal });
  }

  async getJob(id, options = {}) {
    checkFields('getJob', options, fields.SIGNAL_ONLY);
    const { signal } = options || {};
    return this.request('GET', `/v1/jobs/${encodeURIComponent(id)}`, { signal });
  }

  async listJobs(options = {}) {
    checkFields('listJobs', options, fields.REMOTE_LIST_OPTIONS);
    const { limit = 20, offset = 0, state, signal } = options || {};
    const q = new URLSearchParams({ limit: String(limit), offset: String(offset) });
    if (state) q.set('state', state);
    return this.request('GET', `/v1/jobs?${q}`, { signal });
  }

  /** Cancels an unfinished job, or deletes a finished one and its files. */
  async cancel(id, options = {}) {
    checkFields('cancel', options, fields.SIGNAL_ONLY);
    return this.request('DELETE', `/v1/jobs/${encodeURIComponent(id)}`, { signal: (options || {}).signal });
  }

  /**
   * Follows a job to its end through the event stream (falling back to polling when the stream breaks)
   * and resolves to the final job object. onProgress(job) is called for every update.
   */
  async wait(id, options = {}) {
    checkFields('wait', options, fields.REMOTE_WAIT_OPTIONS);
    const { signal, onProgress } = options || {};
    let last = null;
    const update = (job) => {
      if (!job || (job.id && job.id !== id)) return;
      last = Object.assign({}, last, job);
      if (onProgress) onProgress(last);
    };
    let failures = 0;
    while (!(last && TERMINAL.has(last.state))) {
      if (signal && signal.aborted) throw abortError(signal);
      try {
        const response = await this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/events`,
          { signal, raw: true, headers: { Accept: 'text/event-stream' } });
        await readEvents(response, update);
        failures = 0;
      } catch (e) {
        if (signal && signal.aborted) throw abortError(signal);
        if (e instanceof RemoteError && e.status && !isRetryableStatus(e.status)) throw e;
        failures += 1;
      }
      if (last && TERMINAL.has(last.state)) break;
      // The stream ended without a final state (server restart, proxy): read the job, then listen again.
      update(await this.getJob(id, { signal }));
      if (!TERMINAL.has(last.state)) await sleep(Math.min(this.maxDelayMs, this.pollIntervalMs * 2 ** Math.min(failures, 5)), signal);
    }
    return last;
  }

  /** The finished job's MP4: written atomically to output (resolves to undefined), or as a Buffer. */
  async download(id, options = {}) {
    checkFields('download', options, fields.REMOTE_DOWNLOAD_OPTIONS);
    const { output, signal } = options || {};
    let response;
    for (let attempt = 1; ; attempt++) {
      try {
        response = await this.request('GET', `/v1/jobs/${encodeURIComponent(id)}/video`,
          { signal, raw: true, headers: { Accept: 'video/mp4' } });
        break;
      } catch (e) {
        // The video can lag the event that said 'succeeded' by a moment: 409 not_ready is retried briefly.
        if (!(e instanceof RemoteError && e.code === 'not_ready') || attempt >= this.maxAttempts * 2) throw e;
        await sleep(Math.min(2000, 100 * 2 ** attempt), signal);
      }
    }
    const data = Buffer.from(await response.arrayBuffer());
    if (!output) return data;
    const tmp = path.join(path.dirname(path.resolve(output)), `.${path.basename(output)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.part`);
    try {
      fs.writeFileSync(tmp, data);
      fs.renameSync(tmp, output);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new RemoteError('io_error', `cannot write ${output}: ${e.message}`);
    }
    return undefined;
  }

  /**
   * Submits a job, follows it and resolves to its result with the video (a Buffer, or written to
   * request.output). Rejects with a RemoteError: the job's own error when it failed, 'timeout' after
   * timeoutMs (default 30 min; the job is then cancelled on the server), 'cancelled' when signal aborts
   * (likewise cancelled on the server).
   */
  async generate(request, options = {}) {
    checkFields('generate (options)', options, fields.REMOTE_GENERATE_OPTIONS);
    const { signal, onProgress, timeoutMs, download = true } = options || {};
    const body = requestBody(request, 'generate');  // every field checked (and files read) before anything is sent
    const limit = timeoutMs !== undefined ? timeoutMs : this.timeoutMs;
    const timeout = new AbortController();
    const timer = limit > 0 ? setTimeout(() => timeout.abort(new RemoteError('timeout',
      `the job did not finish within ${limit} ms (timeoutMs)`)), limit) : null;
    const combined = anySignal([signal, timeout.signal]);
    let job;
    try {
      job = await this.request('POST', '/v1/jobs', { body, signal: combined });
      if (onProgress) onProgress(job);
      job = await this.wait(job.id, { signal: combined, onProgress });
      if (job.state !== 'succeeded') {
        const e = job.error || {};
        throw new RemoteError(e.code || job.state, `job ${job.id} ${job.state}: ${e.message || 'no reason given'}`,
          { jobId: job.id });
      }
      const result = resultFrom(job, this.baseUrl);
      if (download) {
        const video = await this.download(job.id, { output: request.output, signal: combined });
        if (request.output) result.output = request.output; else result.video = video;
      }
      return result;
    } catch (e) {
      if (combined.aborted && job && !TERMINAL.has(job.state)) {
        // The caller stopped waiting: free the GPUs for others (best effort, one attempt).
        await this.send(this.url(`/v1/jobs/${encodeURIComponent(job.id)}`),
          { method: 'DELETE', headers: this.headers() }).catch(() => {});
      }
      if (e instanceof RemoteError && job && e.jobId === undefined) e.jobId = job.id;
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /**
   * Runs several jobs at once (the server schedules them over its GPUs) and resolves, in input order,
   * to each job's result ({ok: true, ...}) or failure ({ok: false, error}); one failure does not sink the others.
   */
  async generateBatch(requests, options = {}) {
    if (!Array.isArray(requests)) throw new TypeError('generateBatch(requests): requests must be an array');
    // Every request's names are checked before the first is sent: a typo in the last must not leave the others
    // running on the server.
    checkFields('generateBatch (options)', options, fields.REMOTE_GENERATE_OPTIONS);
    requests.forEach((r, i) => {
      if (!r || typeof r !== 'object') throw new TypeError(`generateBatch: request ${i} must be an object`);
      checkFields(`generateBatch (request ${i})`, r, fields.REMOTE_JOB);
    });
    const settled = await Promise.allSettled(requests.map((r, i) => this.generate(r, Object.assign({}, options, {
      onProgress: options.onProgress ? (job) => options.onProgress(i, job) : undefined,
    }))));
    return settled.map((s) => (s.status === 'fulfilled' ? s.value
      : { ok: false, jobId: s.reason && s.reason.jobId, error: s.reason }));
  }

  // ------------------------------------------------------------------------------------------------
  // Stats

  /** The server's job statistics (jobs, success rate, p50/p95 time, GPU-seconds, cost, queue). */
  async stats(options = {}) {
    checkFields('stats', options, fields.SIGNAL_ONLY);
    return this.request('GET', '/v1/stats', { signal: (options || {}).signal });
  }

  /** @deprecated The older name of stats() (the local Client and the Python binding say stats). */
  getStats(options = {}) {
    warnOnce('getStats', 'RemoteClient#getStats() is deprecated: use stats()');
    return this.stats(options);
  }

  /** Resets the statistics; resolves to the (empty) stats. */
  async resetStats(options = {}) {
    checkFields('resetStats', options, fields.SIGNAL_ONLY);
    return this.request('POST', '/v1/stats/reset', { signal: (options || {}).signal });
  }

  /** true when the server answers /healthz with 200. */
  async health(options = {}) {
    checkFields('health', options, fields.SIGNAL_ONLY);
    const { signal } = options || {};
    try {
      const r = await this.fetch(this.url('/healthz'), { signal });
      return r.ok;
    } catch (_) {
      return false;
    }
  }
}

const warned = new Set();
function warnOnce(name, message) {
  if (warned.has(name)) return;
  warned.add(name);
  process.emitWarning(message, { type: 'DeprecationWarning', code: `TALKGEN_${name.toUpperCase()}` });
}

/** Reads a text/event-stream response, calling onJob with each event's JSON data. */
async function readEvents(response, onJob) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (data) onJob(JSON.parse(data));
    }
  }
}

module.exports = { RemoteClient, RemoteError, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_RETRIES };
