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
  /** Default 'quality'. */
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

export class Client extends EventEmitter {
  /** Throws a TalkgenError (code 'invalid_argument', 'not_found', 'device_unavailable') for bad options. */
  constructor(options: ClientOptions);
  /** Rejects with a JobError when the job fails or is cancelled. */
  generate(job: Job & RunOptions): Promise<JobResult>;
  /** Results in input order; a job's failure is in its result and never rejects the batch. */
  generateBatch(jobs: Job[], options?: RunOptions): Promise<JobResult[]>;
  /** False when there is no such unfinished job. */
  cancel(jobId: string): boolean;
  stats(): Stats;
  resetStats(): void;
  readonly devices: DevicePool;
  preload(): Promise<void>;
  /** Cancels running jobs and releases the models once they have ended. */
  close(): Promise<void>;
  on(event: 'progress', listener: (progress: Progress) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export const version: string;
export const buildFeatures: string;
export function encodeStill(options: EncodeStillOptions & { output: string }): Promise<undefined>;
export function encodeStill(options: EncodeStillOptions): Promise<Buffer>;

// The HTTP client of a `talkgen serve` host; every type of it is in 'talkgen/remote'.
export { RemoteClient, RemoteError, RemoteClientOptions } from './remote';
