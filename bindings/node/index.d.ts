// Type declarations for the talkgen Node addon.
import { EventEmitter } from 'events';

/** An Error from the library; `code` is the talkgen status name. */
export interface TalkgenError extends Error {
  code: 'invalid_argument' | 'not_found' | 'unsupported' | 'checkpoint_mismatch' | 'out_of_memory' |
        'device_unavailable' | 'cancelled' | 'timeout' | 'io_error' | 'internal';
  status: number;
}

/**
 * An options object or job with a property this API does not have (a typo, or a field of another version): a
 * TypeError thrown or rejected before any work, never a silently ignored option. A voice prompt (voicePrompt,
 * voicePromptWav, voicePromptWavB64 or their snake_case) is instead a TalkgenError with code 'unsupported':
 * voice cloning from a voice prompt is not supported yet.
 */
export interface UnknownFieldError extends TypeError {
  code: 'invalid_argument';
  status: 1;
  /** The name given. */
  field: string;
  /** The names accepted there, sorted. */
  accepted: string[];
}

export interface EncodeStillOptions {
  /** Portrait image: PNG, JPEG, WebP or BMP. */
  image: string;
  /** Speech audio file; give this or `text`. */
  audio?: string;
  /** Text spoken with espeak-ng; give this or `audio`. */
  text?: string;
  voice?: string;
  /** Write the MP4 here (atomically); without it the Promise resolves to the MP4 bytes. */
  output?: string;
  fps?: number;
  crf?: number;
  preset?: string;
  /** Use h264_nvenc; rejects with code 'device_unavailable' where the GPU has no NVENC. */
  nvenc?: boolean;
}

// ---- Client: load the model once, run generation jobs on a pool of devices ------------------------------

export type TalkgenErrorCode = TalkgenError['code'];
export type JobState = 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
export type Stage = 'preparing' | 'sampling' | 'decoding' | 'encoding' | 'done';

export interface ClientOptions {
  /** 'demo': the tiny untrained model of the real architecture (no files). Give this or `modelDir`. */
  model?: 'demo';
  /** Folder with the official weights. */
  modelDir?: string;
  demoSeed?: number;
  /** 'auto' (default): CUDA GPUs if any, else the CPU; 'cuda': CUDA or an error; 'cpu'. */
  device?: 'auto' | 'cuda' | 'cpu';
  /** CUDA device indices of the pool (default: every visible GPU). */
  gpus?: number[];
  /** Ranks of the pool on the CPU (default 1). */
  cpuRanks?: number;
  collectiveTimeoutSeconds?: number;
  /** Attempts per job, the first included (default 3); only transient failures are retried. */
  maxAttempts?: number;
  retryBaseDelaySeconds?: number;
  retryMaxDelaySeconds?: number;
  retryJitter?: number;
  /** Default wall-clock limit per job (default: none). */
  jobTimeoutSeconds?: number;
  /** USD per GPU-hour by GPU type, e.g. { H100: 4.5 }. */
  prices?: Record<string, number>;
  calibrationDirectory?: string;
  /** With modelDir: InfiniteTalk/multi/ (trained for two speakers) instead of InfiniteTalk/single/. */
  multiPersonWeights?: boolean;
  /** Receives the library's log messages (as a 'log' listener would), from before the model loads. */
  onLog?: (entry: LogEntry) => void;
}

/** One job: exactly one of image / video, and one of audio / text. Paths or in-memory bytes. */
export interface Job {
  image?: string | Uint8Array;
  /** A video to dub instead of an image. */
  video?: string;
  audio?: string | Uint8Array;
  /** Text spoken with espeak-ng. */
  text?: string;
  voice?: string;
  prompt?: string;
  negativePrompt?: string;
  resolution?: '480p' | '720p';
  /** Left out: the library's default profile ('balanced', as everywhere in talkgen). */
  quality?: 'draft' | 'balanced' | 'quality';
  /** 'streaming' (default): to the end of the speech; 'clip': one chunk of up to 81 frames. */
  mode?: 'streaming' | 'clip';
  /** Default 42: same seed, same video on any GPU type and count. */
  seed?: number;
  steps?: number;
  shift?: number;
  textGuidance?: number;
  audioGuidance?: number;
  colorCorrection?: number;
  /** Default: a fresh unguessable id (32 hex digits). */
  jobId?: string;
  /** GPUs (CPU ranks on the CPU); default: the planner's recommendation. */
  gpus?: number;
  budgetUsd?: number;
  deadlineSeconds?: number;
  maxDurationSeconds?: number;
  timeoutSeconds?: number;
  /** Write the MP4 here (atomically); without it the result's `video` holds the bytes. */
  output?: string;
  crf?: number;
  preset?: string;
  nvenc?: boolean;
  /** A second speaker's speech (two-person mode). */
  audio2?: string | Uint8Array;
  /** Two speakers: 'one-after-another' (default) or 'together'. */
  speakerTiming?: 'one-after-another' | 'together';
  /** Two speakers' regions [x0, y0, x1, y1] in image pixels (both or neither; default: left / right half). */
  speaker1Box?: [number, number, number, number];
  speaker2Box?: [number, number, number, number];
}

export interface Progress {
  jobId: string;
  state: JobState;
  attempt: number;
  gpus: number;
  stage: Stage;
  chunk: number;
  chunks: number;
  step: number;
  steps: number;
  /** 0..1 of the whole job. */
  fraction: number;
  elapsedSeconds: number;
  /** null until the first step has been timed. */
  etaSeconds: number | null;
}

export interface RunOptions {
  /** Called on the event loop for every state change and sampling step; returning false cancels the job. */
  onProgress?: (progress: Progress) => boolean | void;
  /** Aborting cancels the job(s): generate() rejects with code 'cancelled'. */
  signal?: AbortSignal;
}

export interface StageTimings {
  queued: number;
  loading: number;
  preparing: number;
  sampling: number;
  decoding: number;
  encoding: number;
  total: number;
}

export interface JobResult {
  jobId: string;
  state: JobState;
  errorCode: TalkgenErrorCode | null;
  errorMessage: string;
  attempts: number;
  /** The MP4 written, or null when it is in `video`. */
  output: string | null;
  video: Buffer | null;
  frames: number;
  width: number;
  height: number;
  fps: number;
  durationSeconds: number;
  chunks: number;
  seed: number;
  resolution: string;
  quality: string;
  /** Sampler settings actually run. */
  steps: number;
  shift: number;
  textGuidance: number;
  audioGuidance: number;
  /** The demo model: the video is noise. */
  untrainedModel: boolean;
  modelName: string;
  gpus: number;
  /** 'cuda:0', ... / 'cpu', one per rank. */
  devices: string[];
  timings: StageTimings;
  /** The planner's figure; null when it cannot size the model. */
  estimatedSeconds: number | null;
  actualSeconds: number;
  gpuSeconds: number;
  costUsd: number;
}

/** Rejection of generate() for a failed or cancelled job. */
export interface JobError extends TalkgenError {
  jobId: string | null;
  /** The job's result, null when it was refused before it existed. */
  result: JobResult | null;
}

export interface Stats {
  jobs: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  retries: number;
  successRate: number;
  meanSeconds: number;
  p50Seconds: number;
  p95Seconds: number;
  gpuSeconds: number;
  costUsd: number;
  queued: number;
  running: number;
}

export interface DevicePool {
  policy: 'auto' | 'cuda' | 'cpu';
  cuda: boolean;
  devices: string[];
  gpuName: string;
  gpuType: string;
  note: string;
  untrainedModel: boolean;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** One message of the library (what it would otherwise write to stderr). */
export interface LogEntry {
  level: LogLevel;
  message: string;
}

export interface PlanOptions {
  /** Left out: the library's default profile. */
  quality?: 'draft' | 'balanced' | 'quality';
  resolution?: '480p' | '720p';
  /** Recommend only GPU counts within this cost. */
  budgetUsd?: number;
  /** Recommend only GPU counts that finish within this many seconds. */
  deadlineSec?: number;
}

export interface PlanOption {
  gpus: number;
  estimatedSeconds: number;
  gpuSeconds: number;
  costUsd: number;
  withinBudget: boolean;
  withinDeadline: boolean;
  /** The job fits in the memory of each of these GPUs. */
  fits: boolean;
}

export interface Plan {
  /** The pool's GPU type as the Planner knows it ('H100', ...). */
  gpuType: string;
  /** Seconds of video the job makes (25 fps). */
  videoSeconds: number;
  chunks: number;
  quality: string;
  resolution: string;
  /** null (with estimatedSeconds and costUsd) when no GPU count meets the limits; `reason` says why. */
  recommendedGpus: number | null;
  estimatedSeconds: number | null;
  costUsd: number | null;
  reason: string;
  /** One per GPU count of the pool, 1..N. */
  options: PlanOption[];
}

export interface WaitOptions {
  /** Seconds to wait at most (0: only look); left out, until the job ends. */
  timeout?: number;
}

/** A job started with Client#submit. Dropping it does not cancel the job; closing its Client does. */
export class JobHandle {
  /** The job id (the job's jobId, or one made for it). */
  readonly id: string;
  /** Where the job is now. */
  poll(): Progress;
  /** Whether it has finished (succeeded, failed or cancelled). */
  done(): boolean;
  /**
   * Its result once finished (any number of times). Rejects as generate() does for a failed or cancelled job, and
   * with code 'timeout' and `result` null when it is still running after `timeout` seconds (wait again or cancel).
   */
  wait(options?: WaitOptions): Promise<JobResult>;
  /** False once it has finished. */
  cancel(): boolean;
}

export class Client extends EventEmitter {
  /** Throws a TalkgenError (code 'invalid_argument', 'not_found', 'device_unavailable') for bad options. */
  constructor(options: ClientOptions);
  /** Rejects with a JobError when the job fails or is cancelled. */
  generate(job: Job & RunOptions): Promise<JobResult>;
  /** Results in input order; a job's failure is in its result and never rejects the batch. */
  generateBatch(jobs: Job[], options?: RunOptions): Promise<JobResult[]>;
  /** Queues the job and returns at once; throws (code) when the library refuses it. */
  submit(job: Job & RunOptions): JobHandle;
  /** The Planner on this client's pool; throws code 'unsupported' where it cannot size it (demo model, CPU). */
  plan(durationSec: number, options?: PlanOptions): Plan;
  /** plan()'s recommendation; throws code 'invalid_argument' when no GPU count meets the limits. */
  recommendGpuCount(durationSec: number, options?: PlanOptions): number;
  /** The Planner's wall time in seconds on numGpus GPUs of the pool. */
  estimateTime(durationSec: number, numGpus: number, options?: PlanOptions): number;
  /** False when there is no such unfinished job. */
  cancel(jobId: string): boolean;
  stats(): Stats;
  resetStats(): void;
  readonly devices: DevicePool;
  preload(): Promise<void>;
  /** Cancels running and submitted jobs and releases the models once they have ended. */
  close(): Promise<void>;
  on(event: 'progress', listener: (progress: Progress) => void): this;
  /**
   * The library's messages while any 'log' listener is attached (else they go to stderr). The library has one log
   * for the process: every Client with a listener (and talkgen.logs) receives every message.
   */
  on(event: 'log', listener: (entry: LogEntry) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export const version: string;
/** (MAJOR << 16) | (MINOR << 8) | PATCH of the loaded library's C ABI. */
export const abiVersion: number;
/** Every message of the library: logs.on('log', (entry: LogEntry) => ...); without listeners they go to stderr. */
export const logs: EventEmitter;
/** The least severe level the library reports (default 'info'); 'off' silences it. */
export function setLogLevel(level: LogLevel | 'off'): void;
export const buildFeatures: string;
export function encodeStill(options: EncodeStillOptions & { output: string }): Promise<undefined>;
export function encodeStill(options: EncodeStillOptions): Promise<Buffer>;

// The HTTP client of a `talkgen serve` host; every type of it is in 'talkgen/remote'.
export { RemoteClient, RemoteError, RemoteClientOptions, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_RETRIES } from './remote';
