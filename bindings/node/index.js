'use strict';
// talkgen for Node: loads the native addon (talkgen.node) and exposes a Promise API.
const path = require('path');
const fs = require('fs');
const fields = require('./fields');

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

/**
 * Loads the model once and runs jobs on a pool of devices. Jobs run on libuv's thread pool: the event loop
 * never blocks. Emits 'progress' for every job (as well as calling a job's onProgress).
 */
class Client extends EventEmitter {
  constructor(options = {}) {
    super();
    if (options && typeof options === 'object') fields.checkFields('new Client', options, fields.CLIENT_OPTIONS);
    this._native = new addon.NativeClient(options);
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
  /** Cancels running jobs (their promises reject with code 'cancelled') and releases the models once they end. */
  close() { return this._native.close(); }

  _run(jobs, batch, onProgress, signal) {
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      throw new TypeError('onProgress must be a function');
    }
    const ids = jobs.map((j) => j.jobId);
    if (signal && signal.aborted && !batch) return Promise.reject(cancelledError(ids[0], signal.reason));
    let callbackError;
    const progress = (p) => {
      this.emit('progress', p);
      if (!onProgress || callbackError) return;
      try {
        if (onProgress(p) === false) this._native.cancel(p.jobId);
      } catch (error) {
        callbackError = error;  // cancels the job; the promise rejects with this error
        this._native.cancel(p.jobId);
      }
    };
    const promise = batch ? this._native.generateBatch(jobs, progress) : this._native.generate(jobs[0], progress);
    const onAbort = () => { for (const id of ids) this._native.cancel(id); };
    if (signal && signal.aborted) onAbort();
    else if (signal) signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => { if (signal) signal.removeEventListener('abort', onAbort); };
    return promise.then(
      (r) => { settle(); if (callbackError) throw callbackError; return r; },
      (e) => {
        settle();
        if (callbackError) throw callbackError;  // the job was cancelled because onProgress threw
        if (signal && signal.aborted && e.code === 'cancelled' && signal.reason !== undefined) e.cause = signal.reason;
        throw e;
      });
  }
}

module.exports = { version: addon.version, buildFeatures: addon.buildFeatures, encodeStill, Client };

// The HTTP client of a `talkgen serve` host (remote.js; it needs no addon: `require('talkgen/remote')`).
Object.assign(module.exports, require('./remote'));
