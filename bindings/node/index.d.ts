// Type declarations for the talkgen Node addon.

/** An Error from the library; `code` is the talkgen status name. */
export interface TalkgenError extends Error {
  code: 'invalid_argument' | 'not_found' | 'unsupported' | 'checkpoint_mismatch' | 'out_of_memory' |
        'device_unavailable' | 'cancelled' | 'timeout' | 'io_error' | 'internal';
  status: number;
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

export const version: string;
export const buildFeatures: string;
export function encodeStill(options: EncodeStillOptions & { output: string }): Promise<undefined>;
export function encodeStill(options: EncodeStillOptions): Promise<Buffer>;
