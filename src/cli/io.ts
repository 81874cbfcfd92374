// What a command may touch of the world, passed in so tests can run commands in-process.
//
// Reading is bounded before anything is parsed: a regular file's size is checked from fstat
// before the first byte is read, and every read stops at its limit even when the file grows or
// standard input never ends (`- < /dev/zero`). Only regular files and standard input are read:
// a FIFO or a device (`/dev/zero`) could hold ebb forever, so it is refused by what fstat says,
// on a descriptor opened with O_NONBLOCK (opening a FIFO without a writer blocks otherwise).
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { realClock } from '../clock.ts';

export interface Output {
  /** false: the text is queued in memory until 'drain' (a pipe whose reader is slower). */
  write(text: string): unknown;
  once?(event: 'drain', listener: () => void): unknown;
}

/** Writes `text`; when the output queues it (a full pipe), resolves once it has drained. */
export const writeDrained = (output: Output, text: string): Promise<void> | undefined => {
  if (output.write(text) !== false || output.once === undefined) return undefined;
  return new Promise((resolve) => output.once?.('drain', resolve));
};

export interface CliIO {
  readonly stdout: Output;
  readonly stderr: Output;
  /** The wall clock; only the CLI reads it (for `ebb simulate`'s default start). */
  readonly now: () => Date;
  /**
   * Reads a file as UTF-8; `-` is standard input. More than `maxBytes` is refused
   * (InputTooLarge); anything but a regular file or standard input is refused (NotARegularFile).
   */
  readonly readText: (file: string, maxBytes: number) => Promise<string>;
  /** The same text in chunks as it arrives, for parsers that stream; default: readText's, whole. */
  readonly readChunks?: (file: string, maxBytes: number) => AsyncIterable<string>;
}

const MiB = 1024 * 1024;

/** `8 MiB`, `47.7 MiB`, `512 KiB`, `900 bytes`: limits and sizes in messages. */
export const formatBytes = (bytes: number): string => {
  if (bytes >= MiB) return `${Number((bytes / MiB).toFixed(1))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KiB`;
  return `${bytes} bytes`;
};

/** A file over its limit; `size` is known from fstat, undefined when the read was cut off. */
export class InputTooLarge extends Error {
  constructor(
    readonly file: string,
    readonly limitBytes: number,
    readonly sizeBytes: number | undefined,
  ) {
    super(
      sizeBytes === undefined
        ? `more than ${formatBytes(limitBytes)}${file === '-' ? ' on standard input' : ''}`
        : `${formatBytes(sizeBytes)}, more than ${formatBytes(limitBytes)}`,
    );
  }
}

/** A FIFO, device, socket or directory: ebb reads regular files and standard input only. */
export class NotARegularFile extends Error {
  constructor(
    readonly file: string,
    readonly kind: string,
  ) {
    super(`${kind}, not a regular file; give a file, or pipe the text to standard input ("-")`);
  }
}

const kindOf = (info: Stats): string => {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
};

const CHUNK_BYTES = 64 * 1024;

/** Opens a regular file without blocking on a FIFO; refuses anything else and files over the limit. */
const openRegular = async (file: string, maxBytes: number): Promise<FileHandle> => {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new NotARegularFile(file, kindOf(info));
    if (info.size > maxBytes) throw new InputTooLarge(file, maxBytes, info.size);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
};

async function* fileBytes(file: string, maxBytes: number): AsyncGenerator<Uint8Array> {
  const handle = await openRegular(file, maxBytes);
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

async function* stdinBytes(): AsyncGenerator<Uint8Array> {
  for await (const chunk of process.stdin) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/** UTF-8 chunks of `file` (`-`: standard input), at most `maxBytes` bytes in all. */
async function* readChunks(file: string, maxBytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let total = 0;
  for await (const bytes of file === '-' ? stdinBytes() : fileBytes(file, maxBytes)) {
    total += bytes.byteLength;
    // a file that grew after fstat, or standard input: cut off at the limit
    if (total > maxBytes) throw new InputTooLarge(file, maxBytes, undefined);
    yield decoder.decode(bytes, { stream: true });
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

const readText = async (file: string, maxBytes: number): Promise<string> => {
  let text = '';
  for await (const chunk of readChunks(file, maxBytes)) text += chunk;
  return text;
};

export const processIO = (): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  now: () => new Date(realClock.wallNow()),
  readText,
  readChunks,
});

/** `io.readChunks`, or for an IO without it (tests' in-memory files) the whole text as one chunk. */
export const chunksOf = (io: CliIO, file: string, maxBytes: number): AsyncIterable<string> =>
  io.readChunks?.(file, maxBytes) ??
  (async function* () {
    yield await io.readText(file, maxBytes);
  })();

/** `ENOENT: no such file or directory, open 'x'` -> `no such file or directory` */
export const describeError = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const text = error.message.split('\n')[0] ?? '';
    return code !== undefined ? text.replace(new RegExp(`^${code}: `), '').replace(/, \w+ '.*'$/, '') : text;
  }
  return String(error);
};
