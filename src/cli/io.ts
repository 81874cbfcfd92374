// What a command may touch of the world, passed in so tests can run commands in-process.
import { readFile } from 'node:fs/promises';

export interface Output {
  write(text: string): unknown;
}

export interface CliIO {
  readonly stdout: Output;
  readonly stderr: Output;
  /** The wall clock; only the CLI reads it (for `ebb simulate`'s default start). */
  readonly now: () => Date;
  /** Reads a file as UTF-8; `-` is standard input. */
  readonly readText: (file: string) => Promise<string>;
}

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
};

export const processIO = (): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  now: () => new Date(),
  readText: (file) => (file === '-' ? readStdin() : readFile(file, 'utf8')),
});

/** `ENOENT: no such file or directory, open 'x'` -> `no such file or directory` */
export const describeError = (error: unknown): string => {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const text = error.message.split('\n')[0] ?? '';
    return code !== undefined ? text.replace(new RegExp(`^${code}: `), '').replace(/, \w+ '.*'$/, '') : text;
  }
  return String(error);
};
