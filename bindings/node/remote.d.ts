// Type declarations for talkgen's RemoteClient (remote.js): a `talkgen serve` host over HTTP.

/** Error codes: the library's, plus the server's HTTP-level ones and 'connection_error' (no answer). */
export type RemoteErrorCode =
  | 'invalid_argument' | 'not_found' | 'unsupported' | 'checkpoint_mismatch' | 'out_of_memory'
  | 'device_unavailable' | 'cancelled' | 'timeout' | 'io_error' | 'internal'
  | 'bad_request' | 'unauthorized' | 'payload_too_large' | 'conflict' | 'not_ready' | 'too_many_jobs'
  | 'draining' | 'connection_error' | 'failed'
  /** A redirect from https to http (refused: the request and its token would leave TLS). */
  | 'insecure_redirect'
  | string;

export class RemoteError extends Error {
  code: RemoteErrorCode;
  /** HTTP status; 0 when no answer came. */
  status: number;
  /** The server's job id, when the error belongs to a job. */
  jobId?: string;
}

export const DEFAULT_TIMEOUT_MS: number;
/** 3, as the TypeScript client of the GPU service talkgen replaces. */
export const DEFAULT_MAX_RETRIES: number;

export interface RemoteClientOptions {
  /** Bearer token of a server started with --token-file. */
  token?: string;
  /** Limit for a whole generate() (submit to video), ms. Default 30 min; 0 = none. */
  timeoutMs?: number;
  /** Retries of an HTTP request after its first try (connection errors, 429 and 5xx). Default 3. */
  maxRetries?: number;
  /** The older form of maxRetries: tries in all (maxRetries + 1). Give one of the two. */
  maxAttempts?: number;
  /** First backoff, doubled per attempt with jitter, capped by maxDelayMs. Defaults 500 / 30000. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Limit for one JSON request, ms (default 60000). */
  requestTimeoutMs?: number;
  pollIntervalMs?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

export type Quality = 'draft' | 'balanced' | 'quality';
export type Resolution = '480p' | '720p';
export type JobState = 'queued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

/**
 * One job. Each field may also be given by the server's snake_case name (ref_image_b64, num_gpus, ...), but not
 * both. Any other name is refused before anything is sent: a TypeError (code 'invalid_argument', with `field` and
 * `accepted`); voicePrompt / voicePromptWav / voicePromptWavB64 (and their snake_case) reject with RemoteError
 * 'unsupported': voice cloning from a voice prompt is not supported yet.
 */
export interface GenerateRequest {
  /** Portrait: a file path or the bytes (PNG, JPEG, WebP, BMP). Or refImageB64. */
  image?: string | Uint8Array;
  refImageB64?: string;
  /** Speech: exactly one of audio (path or bytes), audioB64, text. */
  audio?: string | Uint8Array;
  audioB64?: string;
  text?: string;
  /** The server's name for text (give one of them). */
  scriptText?: string;
  voice?: string;
  /** A second speaker (recorded speech): audio2 (path or bytes) or audio2B64, with optional timing and boxes. */
  audio2?: string | Uint8Array;
  audio2B64?: string;
  speakerTiming?: 'one-after-another' | 'together';
  /** [x0, y0, x1, y1] in pixels of the image (x counts columns); both or neither. */
  speaker1Box?: [number, number, number, number];
  speaker2Box?: [number, number, number, number];
  resolution?: Resolution;
  quality?: Quality;
  prompt?: string;
  seed?: number;
  /** GPUs to use; absent: the server's Planner decides. */
  numGpus?: number;
  maxDurationSec?: number;
  /** Idempotency key; made by the client when absent, so retried submits never run a job twice. */
  jobId?: string;
  /** Write the MP4 here (atomically) instead of returning the bytes. */
  output?: string;
  /** POSTed the job (signed) when it finishes; the server must have a webhook secret. */
  webhookUrl?: string;
}

/** The server's job object (docs/server-api.md). */
export interface Job {
  id: string;
  job_id: string;
  state: JobState;
  progress: number;
  stage: 'preparing' | 'sampling' | 'decoding' | 'encoding' | 'done' | string;
  chunk: number; chunks: number; step: number; steps: number; attempt: number;
  eta_seconds: number | null;
  created_at: string; started_at: string | null; finished_at: string | null;
  restarts: number;
  request: Record<string, unknown>;
  plan: { estimated_seconds: number | null } | null;
  timings: Timings | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
}

export interface Timings {
  queued: number; loading: number; preparing: number; sampling: number; decoding: number; encoding: number;
  total: number;
}

export interface GenerateResult {
  ok: true;
  id: string;
  jobId: string;
  state: 'succeeded';
  /** Absolute URL of the MP4 on the server. */
  videoUrl: string;
  /** The MP4 bytes (when no output was given and download is on). */
  video?: Buffer;
  /** Where the MP4 was written (request.output). */
  output?: string;
  bytes: number; frames: number; width: number; height: number; fps: number; durationSeconds: number;
  gpus: number; devices: string[]; gpuSeconds: number; costUsd: number; attempts: number;
  untrainedModel: boolean;
  estimatedSeconds: number | null;
  timings: Timings | null;
  job: Job;
}

export interface BatchFailure { ok: false; jobId?: string; error: RemoteError; }

export interface GenerateOptions {
  signal?: AbortSignal;
  onProgress?: (job: Job) => void;
  /** Overrides the client's timeoutMs for this job. */
  timeoutMs?: number;
  /** Fetch the MP4 (default true). */
  download?: boolean;
}

export interface PlanOptions {
  quality?: Quality;
  resolution?: Resolution;
  budgetUsd?: number;
  deadlineSec?: number;
  /** Plan for a named GPU type ('H100', ...); needed on a CPU-only server. */
  gpuType?: string;
  gpusAvailable?: number;
  signal?: AbortSignal;
}

export interface PlanOption {
  gpus: number; fits: boolean; seconds: number; cost_usd: number; memory_gib_per_gpu: number;
  within_budget: boolean; within_deadline: boolean; why_not: string;
}

export interface Plan {
  gpu_type: string; gpu_memory_gib: number; usd_per_gpu_hour: number; recommended_gpus: number | null;
  recommendation: string; calibrated: boolean; options: PlanOption[];
}

export interface Stats {
  jobs: number; succeeded: number; failed: number; cancelled: number; retries: number; success_rate: number;
  mean_seconds: number; p50_seconds: number; p95_seconds: number; gpu_seconds: number; cost_usd: number;
  queued: number; running: number; devices: string[]; [key: string]: unknown;
}

export interface JobList { jobs: Job[]; total: number; limit: number; offset: number; next_offset: number | null; }

/**
 * Every options object below is checked the same way as a GenerateRequest: an unknown property is a TypeError.
 * The token goes only to baseUrl's origin: redirects are followed by the client itself (GET and HEAD only), within
 * the origin with the token, to another origin without it (for the rest of the chain), from https to http never.
 */
export class RemoteClient {
  constructor(baseUrl: string, options?: RemoteClientOptions);
  readonly baseUrl: string;
  readonly maxRetries: number;
  /** maxRetries + 1. */
  readonly maxAttempts: number;
  plan(durationSec: number, options?: PlanOptions): Promise<Plan>;
  recommendGpuCount(durationSec: number, options?: PlanOptions): Promise<number>;
  estimateTime(durationSec: number, numGpus: number, options?: PlanOptions): Promise<number>;
  generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResult>;
  generateBatch(requests: GenerateRequest[], options?: Omit<GenerateOptions, 'onProgress'> &
                { onProgress?: (index: number, job: Job) => void }): Promise<Array<GenerateResult | BatchFailure>>;
  stats(options?: { signal?: AbortSignal }): Promise<Stats>;
  /** @deprecated use stats(). */
  getStats(options?: { signal?: AbortSignal }): Promise<Stats>;
  resetStats(options?: { signal?: AbortSignal }): Promise<Stats>;
  submit(request: GenerateRequest, options?: { signal?: AbortSignal }): Promise<Job>;
  getJob(id: string, options?: { signal?: AbortSignal }): Promise<Job>;
  listJobs(options?: { limit?: number; offset?: number; state?: JobState; signal?: AbortSignal }): Promise<JobList>;
  wait(id: string, options?: { signal?: AbortSignal; onProgress?: (job: Job) => void }): Promise<Job>;
  download(id: string, options: { output: string; signal?: AbortSignal }): Promise<undefined>;
  download(id: string, options?: { signal?: AbortSignal }): Promise<Buffer>;
  cancel(id: string, options?: { signal?: AbortSignal }): Promise<Job | { id: string; deleted: true }>;
  health(options?: { signal?: AbortSignal }): Promise<boolean>;
}
