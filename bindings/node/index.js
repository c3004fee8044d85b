'use strict';
// talkgen for Node: loads the native addon (talkgen.node) and exposes a Promise API.
const path = require('path');
const fs = require('fs');
const fields = require('./fields');

// The addon and libtalkgen_c sit together in native/ (put there by `npm pack`, see scripts/prepack.js, or built by
// scripts/install.js); the addon finds the library next to itself (RPATH $ORIGIN), so no environment variable is
// needed. In the source tree (not installed under node_modules) the build tree's addon is used instead.
function loadAddon() {
  const packaged = path.join(__dirname, 'native', 'talkgen.node');
  const inSourceTree = !__dirname.split(path.sep).includes('node_modules') &&
    fs.existsSync(path.join(__dirname, '..', '..', 'capi', 'talkgen.h'));
  const candidates = process.env.TALKGEN_NODE_ADDON
    ? [process.env.TALKGEN_NODE_ADDON]  // an explicit choice is never silently replaced
    : [inSourceTree ? path.join(__dirname, '..', '..', 'build', 'bindings', 'node', 'talkgen.node') : packaged];
  const tried = [];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate)) { tried.push(`${candidate} (missing)`); continue; }
    return require(candidate);
  }
  throw new Error(`talkgen: cannot find the native addon; tried ${tried.join('; ')}. An installed package carries ` +
                  'it in native/ (reinstall it: `npm install` runs scripts/install.js, which says what is missing); ' +
                  "in talkgen's source tree build it (cmake --build build --target talkgen_node). " +
                  "require('talkgen/remote') needs no addon.");
}

const addon = loadAddon();

/**
 * Encodes a still video of `image` for the length of the speech.
 * @returns {Promise<Buffer|undefined>} the MP4 bytes, or undefined when `output` is given.
 */
function encodeStill(options) {
  if (!options || typeof options !== 'object') throw new TypeError('encodeStill(options): options must be an object');
  try {
    fields.checkFields('encodeStill', options, fields.ENCODE_STILL);
  } catch (error) {
    return Promise.reject(error);
  }
  if ((options.audio === undefined) === (options.text === undefined)) {
    return Promise.reject(new TypeError('give exactly one of audio or text'));
  }
  return addon.encodeStill(options);
}

const crypto = require('crypto');
const { EventEmitter } = require('events');

// ---- Log messages ------------------------------------------------------------------------------------------------
// The library has one log sink per process (talkgen_set_log_callback). While anything listens here, its messages
// come to the listeners ({level, message}, on the event loop) instead of going to stderr.
const logSinks = new Set();
function dispatchLog(entry) {
  for (const sink of [...logSinks]) sink(entry);
}
function addLogSink(sink) {
  logSinks.add(sink);
  if (logSinks.size === 1) addon.setLogHandler(dispatchLog);
}
function removeLogSink(sink) {
  if (logSinks.delete(sink) && logSinks.size === 0) addon.setLogHandler(null);
}
/** Forwards the library's log to `emitter`'s 'log' listeners while it has any. */
function routeLogEvents(emitter) {
  const sink = (entry) => emitter.emit('log', entry);
  emitter.on('newListener', (event) => { if (event === 'log') addLogSink(sink); });
  emitter.on('removeListener', (event) => {
    if (event === 'log' && emitter.listenerCount('log') === 0) removeLogSink(sink);
  });
  return sink;
}

/**
 * Every message of the library, whichever Client (or encodeStill) it comes from: `logs.on('log', ({level,
 * message}) => ...)`. Without listeners (here or on a Client) the library writes to stderr.
 */
const logs = new EventEmitter();
routeLogEvents(logs);

/** The least severe level the library reports: 'trace', 'debug', 'info' (its default), 'warn', 'error' or 'off'. */
function setLogLevel(level) { addon.setLogLevel(level); }

// ---- Client ------------------------------------------------------------------------------------------------------

const FINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);

function cancelledError(jobId, reason) {
  const detail = reason && reason.message ? `: ${reason.message}` : '';
  const error = new Error(`job ${jobId} was cancelled${detail}`);
  error.code = 'cancelled';
  error.status = 7;
  error.jobId = jobId;
  return error;
}

// A copy of the job with only known keys (a typo is a TypeError naming it, not a silently ignored option; a voice
// prompt is 'unsupported') and a job id: made here when the caller gives none (32 hex digits from a CSPRNG, as the
// library would) so that an AbortSignal can reach the job before the library has seen it.
function jobWithId(job, where) {
  if (!job || typeof job !== 'object') throw new TypeError(`${where}: a job must be an object`);
  fields.checkFields(where, job, fields.JOB);
  return { ...job, jobId: job.jobId === undefined ? crypto.randomBytes(16).toString('hex') : job.jobId };
}

/** The progress function of a job's run: the client's 'progress' event, then onProgress (false or a throw cancels). */
function progressRelay(client, onProgress, cancel) {
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new TypeError('onProgress must be a function');
  }
  const relay = (p) => {
    client.emit('progress', p);
    if (!onProgress || relay.error) return;
    try {
      if (onProgress(p) === false) cancel(p.jobId);
    } catch (error) {
      relay.error = error;  // cancels the job; its promise rejects with this error
      cancel(p.jobId);
    }
  };
  relay.error = undefined;
  return relay;
}

/**
 * A job submitted with Client#submit: it runs in the background while the caller goes on. `id` is its job id;
 * poll() its progress now; wait() a Promise of its result; cancel() stops it. Dropping it does not cancel the job;
 * closing the Client does.
 */
class JobHandle {
  constructor(native, relay, detachSignal) {
    this._native = native;
    this._relay = relay;
    this._detachSignal = detachSignal;
    /** The job id (the caller's jobId, or one made for it). */
    this.id = native.id;
  }

  /** The job's progress now: { jobId, state, stage, fraction, etaSeconds, ... } as 'progress' events give it. */
  poll() { return this._native.poll(); }

  /** Whether the job has finished (succeeded, failed or cancelled). */
  done() { return FINAL_STATES.has(this.poll().state); }

  /**
   * Resolves to the job's result once it has finished (it may be waited for any number of times). Rejects as
   * Client#generate does for a failed or cancelled job; with code 'timeout' (and `result` null) when it has not
   * finished within `timeout` seconds, in which case the job goes on and can be waited for again.
   */
  wait(options = {}) {
    try {
      fields.checkFields('wait', options, fields.WAIT_OPTIONS);
      const { timeout } = options || {};
      return this._native.wait(timeout).then(
        (result) => { this._detachSignal(); if (this._relay.error) throw this._relay.error; return result; },
        (error) => {
          const stillRunning = error.code === 'timeout' && error.result === null;  // (a job that timed out has one)
          if (!stillRunning) this._detachSignal();
          if (this._relay.error && !stillRunning) throw this._relay.error;  // onProgress threw: it was cancelled
          throw error;
        });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Cancels the job: a queued one never runs, a running one stops before its next step. False once it has ended. */
  cancel() { return this._native.cancel(); }
}

/**
 * Loads the model once and runs jobs on a pool of devices. Jobs run on the library's and libuv's threads: the event
 * loop never blocks. Emits 'progress' for every job (as well as calling a job's onProgress), and 'log' with the
 * library's messages ({level, message}) while it has 'log' listeners (or an onLog option): the library has one log
 * for the whole process, so each such Client (and talkgen.logs) receives every message.
 */
class Client extends EventEmitter {
  constructor(options = {}) {
    super();
    if (options && typeof options === 'object') fields.checkFields('new Client', options, fields.CLIENT_OPTIONS);
    const { onLog, ...native } = options || {};
    if (onLog !== undefined && typeof onLog !== 'function') throw new TypeError('onLog must be a function');
    this._logSink = routeLogEvents(this);
    if (onLog) this.on('log', onLog);  // before the model loads: its messages come here too
    try {
      this._native = new addon.NativeClient(native);
    } catch (error) {
      this.removeAllListeners('log');
      throw error;
    }
  }

  /**
   * Runs one job. Resolves to its result; rejects with an Error whose `code` is the talkgen status name
   * ('cancelled' after `signal` aborts or onProgress returns false) and whose `result` is the job's result.
   */
  generate(options = {}) {
    try {
      if (options !== null && typeof options === 'object') {
        fields.checkFields('generate', options, fields.GENERATE);
      }
      const { onProgress, signal, ...rest } = options || {};
      const job = jobWithId(rest, 'generate');
      return this._run([job], false, onProgress, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs every job at once over the pool; resolves to the results in input order. A job's failure is in its
   * result (state 'failed', errorCode, errorMessage) and never rejects the batch; `signal` cancels them all.
   */
  generateBatch(jobs, options = {}) {
    try {
      if (!Array.isArray(jobs)) throw new TypeError('generateBatch(jobs): jobs must be an array');
      fields.checkFields('generateBatch (options)', options, fields.RUN_OPTIONS);
      const { onProgress, signal } = options || {};
      return this._run(jobs.map((j, i) => jobWithId(j, `generateBatch (job ${i})`)), true, onProgress, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Queues one job and returns at once with its JobHandle (id, poll(), wait({timeout}), cancel()). Throws for a job the
   * library refuses (bad options, a job id already in use); `signal` and onProgress cancel it as in generate().
   */
  submit(options = {}) {
    if (options !== null && typeof options === 'object') fields.checkFields('submit', options, fields.GENERATE);
    const { onProgress, signal, ...rest } = options || {};
    const spec = jobWithId(rest, 'submit');
    if (signal && signal.aborted) throw cancelledError(spec.jobId, signal.reason);
    let native;
    const relay = progressRelay(this, onProgress, () => native && native.cancel());
    native = this._native.submit(spec, relay);
    const onAbort = () => native.cancel();
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    return new JobHandle(native, relay, () => { if (signal) signal.removeEventListener('abort', onAbort); });
  }

  /**
   * The Planner for a job of `durationSec` seconds of speech on this client's pool: { gpuType, videoSeconds, chunks,
   * quality, resolution, recommendedGpus, estimatedSeconds, costUsd (these three null when no GPU count meets the
   * limits), reason, options: [{ gpus, estimatedSeconds, gpuSeconds, costUsd, withinBudget, withinDeadline, fits }] }.
   * Options (quality, resolution, budgetUsd, deadlineSec) left out take the library's defaults / no limit. Throws
   * code 'unsupported' where the Planner cannot size the pool (the demo model, the CPU).
   */
  plan(durationSec, options = {}) {
    fields.checkFields('plan', options, fields.PLAN_OPTIONS);
    return this._native.plan(durationSec, options);
  }

  /** plan()'s recommended GPU count; code 'invalid_argument' (with the reason) when no count meets the limits. */
  recommendGpuCount(durationSec, options = {}) {
    const plan = this.plan(durationSec, options);
    if (plan.recommendedGpus === null) {
      throw fields.talkgenError(Error, 'invalid_argument', 1, `no GPU count meets the request: ${plan.reason}`);
    }
    return plan.recommendedGpus;
  }

  /** The Planner's wall time in seconds of the job on `numGpus` GPUs of the pool. */
  estimateTime(durationSec, numGpus, options = {}) {
    const option = this.plan(durationSec, options).options.find((o) => o.gpus === numGpus);
    if (!option) {
      throw fields.talkgenError(RangeError, 'invalid_argument', 1,
        `estimateTime: the pool has no option with ${numGpus} GPUs (give a count from 1 to the pool's size)`);
    }
    return option.estimatedSeconds;
  }

  /** Cancels a queued or running job of this client; false when there is no such unfinished job. */
  cancel(jobId) {
    return this._native.cancel(jobId);
  }

  stats() { return this._native.stats(); }
  resetStats() { this._native.resetStats(); }
  /** The pool: { policy, cuda, devices, gpuName, gpuType, note, untrainedModel }. */
  get devices() { return this._native.devices(); }
  /** Loads the weights onto every device now instead of on first use. */
  preload() { return this._native.preload(); }
  /**
   * Cancels running and submitted jobs (their promises reject with code 'cancelled') and releases the models once
   * they end; the Client's log listeners stay until then.
   */
  close() {
    return this._native.close().finally(() => removeLogSink(this._logSink));
  }

  _run(jobs, batch, onProgress, signal) {
    const ids = jobs.map((j) => j.jobId);
    const relay = progressRelay(this, onProgress, (id) => this._native.cancel(id));
    if (signal && signal.aborted && !batch) return Promise.reject(cancelledError(ids[0], signal.reason));
    const promise = batch ? this._native.generateBatch(jobs, relay) : this._native.generate(jobs[0], relay);
    const onAbort = () => { for (const id of ids) this._native.cancel(id); };
    if (signal && signal.aborted) onAbort();
    else if (signal) signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => { if (signal) signal.removeEventListener('abort', onAbort); };
    return promise.then(
      (r) => { settle(); if (relay.error) throw relay.error; return r; },
      (e) => {
        settle();
        if (relay.error) throw relay.error;  // the job was cancelled because onProgress threw
        if (signal && signal.aborted && e.code === 'cancelled' && signal.reason !== undefined) e.cause = signal.reason;
        throw e;
      });
  }
}

module.exports = {
  version: addon.version,
  abiVersion: addon.abiVersion,
  buildFeatures: addon.buildFeatures,
  encodeStill,
  Client,
  JobHandle,
  logs,
  setLogLevel,
};

// The HTTP client of a `talkgen serve` host (remote.js; it needs no addon: `require('talkgen/remote')`).
Object.assign(module.exports, require('./remote'));
