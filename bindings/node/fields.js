'use strict';
// The option and field names each call of the package takes, in one place. A name not listed is refused before
// any work or request (a TypeError naming it and the accepted ones), never dropped or passed on: a typo, or a field
// of another version, must not change a video silently.
//
// The local sets are the keys index.d.ts declares; the remote ones are the JSON fields docs/server-api.md
// documents for `POST /v1/jobs` and `POST /v1/plan`, in camelCase or as the server spells them, plus the forms
// RemoteClient turns into them (image -> ref_image_b64, ...). test/fields.test.js checks them against both.

// Voice cloning from a recorded voice prompt is planned, not built: these names get "not supported yet" rather
// than "unknown", and never a video spoken by espeak-ng as if the prompt had been used.
const VOICE_PROMPT = new Set(['voicePrompt', 'voicePromptWav', 'voicePromptWavB64', 'voice_prompt',
  'voice_prompt_wav', 'voice_prompt_wav_b64']);

// new Client(options)
const CLIENT_OPTIONS = new Set(['model', 'modelDir', 'demoSeed', 'device', 'gpus', 'cpuRanks',
  'collectiveTimeoutSeconds', 'maxAttempts', 'retryBaseDelaySeconds', 'retryMaxDelaySeconds', 'retryJitter',
  'jobTimeoutSeconds', 'prices', 'calibrationDirectory', 'multiPersonWeights', 'onLog']);

// Client#generate(job) and the jobs of Client#generateBatch
const JOB = new Set(['image', 'video', 'audio', 'text', 'voice', 'prompt', 'negativePrompt', 'resolution',
  'quality', 'mode', 'seed', 'steps', 'shift', 'textGuidance', 'audioGuidance', 'colorCorrection', 'jobId', 'gpus',
  'budgetUsd', 'deadlineSeconds', 'maxDurationSeconds', 'timeoutSeconds', 'output', 'crf', 'preset', 'nvenc',
  'audio2', 'speakerTiming', 'speaker1Box', 'speaker2Box']);
// ... with these beside the job's own keys in generate(), and as generateBatch's second argument
const RUN_OPTIONS = new Set(['onProgress', 'signal']);
const GENERATE = new Set([...JOB, ...RUN_OPTIONS]);

// Client#plan(durationSeconds, options)
const PLAN_OPTIONS = new Set(['quality', 'resolution', 'budgetUsd', 'deadlineSec']);
// JobHandle#wait(options)
const WAIT_OPTIONS = new Set(['timeout']);

// encodeStill(options)
const ENCODE_STILL = new Set(['image', 'audio', 'text', 'voice', 'output', 'fps', 'crf', 'preset', 'nvenc']);

// POST /v1/jobs as documented, by the server's name: the names RemoteClient takes for each (camelCase first;
// one of them per request). `image`, `audio`, `audio2` (a path or bytes) and `text` are the client's own forms
// of ref_image_b64, audio_b64, audio2_b64 and script_text.
const SERVER_JOB = new Map([
  ['ref_image_b64', ['refImageB64', 'ref_image_b64']],
  ['audio_b64', ['audioB64', 'audio_b64']],
  ['script_text', ['scriptText', 'script_text']],
  ['voice', ['voice']],
  ['resolution', ['resolution']],
  ['max_duration_sec', ['maxDurationSec', 'max_duration_sec']],
  ['num_gpus', ['numGpus', 'num_gpus']],
  ['seed', ['seed']],
  ['job_id', ['jobId', 'job_id']],
  ['quality', ['quality']],
  ['prompt', ['prompt']],
  ['audio2_b64', ['audio2B64', 'audio2_b64']],
  ['speaker_timing', ['speakerTiming', 'speaker_timing']],
  ['speaker1_box', ['speaker1Box', 'speaker1_box']],
  ['speaker2_box', ['speaker2Box', 'speaker2_box']],
  ['webhook_url', ['webhookUrl', 'webhook_url']],
]);
// RemoteClient#submit / #generate(request): the above, the client's forms, and where the MP4 goes.
const REMOTE_JOB = new Set(['image', 'audio', 'audio2', 'text', 'output', ...[...SERVER_JOB.values()].flat()]);

// POST /v1/plan as documented (duration_sec is plan()'s first argument): server name -> RemoteClient's option.
const SERVER_PLAN = new Map([['quality', 'quality'], ['resolution', 'resolution'], ['budget_usd', 'budgetUsd'],
  ['deadline_sec', 'deadlineSec'], ['gpu_type', 'gpuType'], ['gpus_available', 'gpusAvailable']]);
const REMOTE_PLAN_OPTIONS = new Set([...SERVER_PLAN.values(), 'signal']);

// new RemoteClient(baseUrl, options) and the second argument of its methods
const REMOTE_CLIENT_OPTIONS = new Set(['token', 'timeoutMs', 'maxRetries', 'maxAttempts', 'baseDelayMs', 'maxDelayMs',
  'requestTimeoutMs', 'pollIntervalMs', 'fetch']);
const REMOTE_GENERATE_OPTIONS = new Set(['signal', 'onProgress', 'timeoutMs', 'download']);
const REMOTE_LIST_OPTIONS = new Set(['limit', 'offset', 'state', 'signal']);
const REMOTE_WAIT_OPTIONS = new Set(['signal', 'onProgress']);
const REMOTE_DOWNLOAD_OPTIONS = new Set(['output', 'signal']);
const SIGNAL_ONLY = new Set(['signal']);

/** An Error shaped as the addon's: `code` is the talkgen status name, `status` its number. */
function talkgenError(ErrorClass, code, status, message) {
  const error = new ErrorClass(message);
  error.code = code;
  error.status = status;
  return error;
}

/**
 * Throws for the first own key of `object` that `accepted` lacks: for a voice prompt, the Error `unsupported`
 * makes (default: code 'unsupported'); for any other name a TypeError with code 'invalid_argument', naming it
 * (`field`) and the accepted names (`accepted`).
 */
function checkFields(where, object, accepted, unsupported) {
  if (object === undefined || object === null) return;
  for (const name of Object.keys(object)) {
    if (accepted.has(name)) continue;
    if (VOICE_PROMPT.has(name)) {
      const message = `${where}: '${name}': voice cloning from a voice prompt is not supported yet; leave it out ` +
        "(text is spoken by espeak-ng, with the voice named by 'voice') or give the recorded speech itself as audio";
      throw unsupported ? unsupported(message) : talkgenError(Error, 'unsupported', 3, message);
    }
    const names = [...accepted].sort();
    const error = talkgenError(TypeError, 'invalid_argument', 1,
      `${where}: unknown option '${name}'; accepted: ${names.join(', ')}`);
    error.field = name;
    error.accepted = names;
    throw error;
  }
}

module.exports = {
  VOICE_PROMPT, CLIENT_OPTIONS, JOB, RUN_OPTIONS, GENERATE, PLAN_OPTIONS, WAIT_OPTIONS, ENCODE_STILL, SERVER_JOB,
  REMOTE_JOB, SERVER_PLAN, REMOTE_PLAN_OPTIONS, REMOTE_CLIENT_OPTIONS, REMOTE_GENERATE_OPTIONS, REMOTE_LIST_OPTIONS,
  REMOTE_WAIT_OPTIONS, REMOTE_DOWNLOAD_OPTIONS, SIGNAL_ONLY, checkFields, talkgenError,
};
