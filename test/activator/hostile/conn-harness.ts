// A raw-socket client for the connection tests (upgrades, slow bodies, pipelining, drain,
// descriptors): it writes exactly the bytes a test gives it and parses what comes back as a
// sequence of HTTP/1.1 responses (Content-Length, chunked, or up to the close), so a test can
// say what an attacker sends and check every answer, in order, without node's client in between.
import { connect, type Socket } from 'node:net';
import { expect } from 'vitest';
import { until } from '../helpers.ts';

export interface RawResponse {
  /** Bytes on the wire, head included. */
  readonly length: number;
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RawConn {
  readonly socket: Socket;
  /** Every byte received so far. */
  received(): Buffer;
  /** The complete responses received so far, in order. */
  responses(): RawResponse[];
  /** True once the activator closed (or reset) the connection. */
  closed(): boolean;
  /** Why it closed with an error (ECONNRESET, …), or '' . */
  error(): string;
  write(data: string | Buffer): void;
  /** Waits until `n` complete responses arrived; fails after a generous timeout. */
  waitResponses(n: number, timeoutMs?: number): Promise<RawResponse[]>;
  waitClosed(timeoutMs?: number): Promise<void>;
}

/** Opens a TCP connection to 127.0.0.1:`port` (resolves once connected). */
export const openRaw = (port: number): Promise<RawConn> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let isClosed = false;
    let err = '';
    // Parsed incrementally: a test waiting for thousands of answers must not re-read them all.
    let parsed: RawResponse[] = [];
    let tail: Buffer = Buffer.alloc(0);
    let unparsed = 0;
    const responses = (): RawResponse[] => {
      if (unparsed < chunks.length) {
        tail = Buffer.concat([tail, ...chunks.slice(unparsed)]);
        unparsed = chunks.length;
      }
      const more = parseResponses(tail, isClosed);
      if (more.length > 0) {
        parsed = parsed.concat(more);
        tail = tail.subarray(more.reduce((n, r) => n + r.length, 0));
      }
      return parsed;
    };
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      err = e.code ?? e.message;
    });
    socket.on('close', () => {
      isClosed = true;
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      const conn: RawConn = {
        socket,
        received: () => Buffer.concat(chunks),
        responses,
        closed: () => isClosed,
        error: () => err,
        write: (data) => {
          socket.write(data);
        },
        waitResponses: async (n, timeoutMs = 20_000) => {
          await until(
            () => responses().length >= n || isClosed,
            `${n} responses on one connection`,
            timeoutMs,
          );
          const got = responses();
          if (got.length < n)
            throw new Error(`connection closed after ${got.length} of ${n} responses (${err || 'no error'})`);
          return got;
        },
        waitClosed: (timeoutMs = 20_000) => until(() => isClosed, 'the connection to close', timeoutMs),
      };
      resolve(conn);
    });
    socket.once('error', reject);
  });

/**
 * The complete HTTP/1.1 responses at the start of `buf` (RFC 9112 §6.3: Content-Length, chunked,
 * or, with neither, the body runs to the close). 1xx interim responses are skipped.
 */
export const parseResponses = (buf: Buffer, closed: boolean): RawResponse[] => {
  const out: RawResponse[] = [];
  let at = 0;
  let start = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return out;
    const lines = buf.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = Number((lines[0] ?? '').split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let next = headEnd + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      at = next;
      continue;
    }
    let body: string;
    if (status === 101) body = '';
    else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', next);
        if (lineEnd < 0) return out;
        const size = Number.parseInt(buf.subarray(next, lineEnd).toString('latin1'), 16);
        if (buf.length < lineEnd + 2 + size + 2) return out;
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        next = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts).toString();
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (buf.length < next + length) return out;
      body = buf.subarray(next, next + length).toString();
      next += length;
    } else {
      if (!closed) return out;
      body = buf.subarray(next).toString();
      next = buf.length;
    }
    out.push({ length: next - start, status, headers, body });
    start = next;
    if (status === 101) return out;
    at = next;
  }
};

/** `GET path` for `host`, with extra header lines (`Name: value`). */
export const rawGet = (host: string, path = '/', extra: readonly string[] = []): string =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra.map((h) => `${h}\r\n`).join('')}\r\n`;

/**
 * `res` is an answer of the activator's own: `status`, its reason in X-Ebb-Reason, a body that
 * names each of `names`, and (`close`) the connection closing after it.
 */
export const expectOwnAnswer = (
  res: RawResponse | undefined,
  status: number,
  reason: string,
  names: readonly string[],
  close = true,
): void => {
  expect(res?.status).toBe(status);
  expect(res?.headers['x-ebb-reason']).toBe(reason);
  if (close) expect(res?.headers.connection).toBe('close');
  for (const name of names) expect(res?.body).toContain(name);
};
