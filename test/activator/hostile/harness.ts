// The hostile-client harness: raw bytes over real sockets to a real activator, and a recording
// backend that parses (strictly) and logs every request it receives. Shared by every file in
// test/activator/hostile/.
//
//   const h = track(await startHostile());
//   const answer = await rawExchange(h.port, 'GET / HTTP/1.1\r\nHost: app.test\r\n\r\n');
//   await h.expectOnly([{ method: 'GET', target: '/', host: 'app.test', body: '' }]);
//
// The invariant every case checks (expectOnly): for each request a client sends, the backend
// receives at most one request, with the same method, the normalised origin-form target, the
// Host and the body; and every response goes back to the client that asked (the backend answers
// `seen <method> <target>`, which the client compares with what it sent). A canary request sent
// after the case flushes the upstream connection, so a request smuggled into a body has been
// parsed (and is caught) by the time the backend's log is read.
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { expect } from 'vitest';
import { type Activator, type ActivatorOptions, createActivator } from '../../../src/activator/server.ts';
import { routeSpec, serviceKey } from '../helpers.ts';
import { MemoryEndpointSource } from '../memory-endpoints.ts';

export type HeaderLines = [string, string][];

/** One HTTP/1.1 message as a strict parser reads it. */
export interface Message {
  readonly startLine: string;
  readonly headers: HeaderLines;
  readonly body: Buffer;
}

type Parsed = { message: Message; length: number } | 'incomplete' | { error: string };

const header = (headers: HeaderLines, name: string): string[] =>
  headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

/**
 * Reads one message from `buf` (RFC 9112 framing: chunked, else Content-Length, else none; a
 * response without either runs to the end of the connection, `closed`). Anything a careful server
 * would refuse is an error: bare LF, obs-fold, CL with TE, two CLs, a TE other than chunked.
 */
export const parseMessage = (buf: Buffer, response: boolean, closed: boolean, noBody = false): Parsed => {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return 'incomplete';
  const head = buf.subarray(0, end).toString('latin1');
  if (/[^\r]\n|\r[^\n]/.test(head)) return { error: 'bare CR or LF in head' };
  const [startLine = '', ...lines] = head.split('\r\n');
  const headers: HeaderLines = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line)) return { error: `obs-fold: ${JSON.stringify(line)}` };
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) return { error: `bad header line ${line}` };
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  const te = header(headers, 'transfer-encoding');
  const cl = header(headers, 'content-length');
  let at = end + 4;
  const status = response ? Number(startLine.split(' ')[1]) : 0;
  if (noBody || status === 204 || status === 304 || (status >= 100 && status < 200))
    return { message: { startLine, headers, body: Buffer.alloc(0) }, length: at };
  if (te.length > 0) {
    if (cl.length > 0) return { error: 'Content-Length with Transfer-Encoding' };
    if (te.length !== 1 || te[0]?.toLowerCase() !== 'chunked') return { error: `Transfer-Encoding ${te}` };
    const chunks: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return 'incomplete';
      const sizeText = buf.subarray(at, eol).toString('latin1');
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) return { error: `chunk size ${JSON.stringify(sizeText)}` };
      const size = Number.parseInt(sizeText, 16);
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', eol + 2);
        if (trailerEnd < 0) return 'incomplete';
        if (trailerEnd !== eol + 2) return { error: 'trailer fields' };
        return { message: { startLine, headers, body: Buffer.concat(chunks) }, length: trailerEnd + 2 };
      }
      if (buf.length < eol + 2 + size + 2) return 'incomplete';
      chunks.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  if (cl.length > 1) return { error: `${cl.length} Content-Length lines` };
  if (cl.length === 1) {
    if (!/^\d+$/.test(cl[0] ?? '')) return { error: `Content-Length ${cl[0]}` };
    const n = Number(cl[0]);
    if (buf.length < at + n) return 'incomplete';
    return { message: { startLine, headers, body: buf.subarray(at, at + n) }, length: at + n };
  }
  if (!response) return { message: { startLine, headers, body: Buffer.alloc(0) }, length: at };
  if (!closed) return 'incomplete';
  return { message: { startLine, headers, body: buf.subarray(at) }, length: buf.length };
};

/** A request as the backend received it. */
export interface SeenRequest {
  /** Which upstream connection (1, 2, …) carried it. */
  readonly connection: number;
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: HeaderLines;
  readonly body: string;
  /** Every value of a header (lower-case name). */
  all(name: string): string[];
}

/**
 * What the backend sends back: a whole raw response, undefined for the default (echo), or a
 * response sent `afterMs` later (answers on one connection still go out in request order).
 */
export type Responder = (req: SeenRequest) => string | { raw: string; afterMs: number } | undefined;

export interface RecordingBackend {
  readonly port: number;
  readonly seen: SeenRequest[];
  /** Anything the backend could not parse (never expected: the activator must send clean HTTP). */
  readonly errors: string[];
  respond: Responder;
  close(): Promise<void>;
}

/** `seen GET /x` with its framing: the default answer, which names the request it answers. */
export const echo = (req: SeenRequest, extra = ''): string => {
  const body = `seen ${req.method} ${req.target}`;
  return `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n${extra}\r\n${body}`;
};

export const startRecordingBackend = async (): Promise<RecordingBackend> => {
  const sockets = new Set<Socket>();
  let connections = 0;
  const b: RecordingBackend = {
    port: 0,
    seen: [],
    errors: [],
    respond: () => undefined,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  const server: Server = createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let answered = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const parsed = parseMessage(buf, false, false);
        if (parsed === 'incomplete') return;
        if ('error' in parsed) {
          b.errors.push(parsed.error);
          socket.destroy();
          return;
        }
        buf = buf.subarray(parsed.length);
        const { startLine, headers, body } = parsed.message;
        const [method = '', target = '', version = ''] = startLine.split(' ');
        const req: SeenRequest = {
          connection,
          method,
          target,
          version,
          headers,
          body: body.toString('latin1'),
          all: (name) => header(headers, name),
        };
        b.seen.push(req);
        const answer = b.respond(req) ?? echo(req);
        if (typeof answer === 'string') answered = answered.then(() => void socket.write(answer));
        else
          answered = answered
            .then(() => new Promise((resolve) => setTimeout(resolve, answer.afterMs)))
            .then(() => void socket.write(answer.raw));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (b as { port: number }).port = (server.address() as AddressInfo).port;
  return b;
};

/** A response as the raw client read it. */
export interface RawResponse {
  readonly status: number;
  readonly headers: HeaderLines;
  readonly body: string;
  get(name: string): string | undefined;
}

export interface RawOutcome {
  readonly responses: RawResponse[];
  /** The activator closed the connection. */
  readonly closed: boolean;
  /** Bytes after the last whole response (never expected). */
  readonly rest: string;
}

/**
 * Writes `bytes` on a new connection and reads responses until `expect` of them arrived (then
 * closes its side), the server closed, or `timeoutMs` passed. `head` marks responses to HEAD.
 */
export const rawExchange = (
  port: number,
  bytes: string | Buffer,
  opts: { expect?: number; timeoutMs?: number; head?: boolean } = {},
): Promise<RawOutcome> =>
  new Promise((resolve) => {
    const expected = opts.expect ?? 1;
    const responses: RawResponse[] = [];
    let buf = Buffer.alloc(0);
    let closed = false;
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses, closed, rest: buf.toString('latin1') });
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 10_000);
    const drain = (): void => {
      for (;;) {
        const parsed = parseMessage(buf, true, closed, opts.head);
        if (parsed === 'incomplete' || 'error' in parsed) return;
        buf = buf.subarray(parsed.length);
        const { startLine, headers, body } = parsed.message;
        const status = Number(startLine.split(' ')[1]);
        if (status === 100) continue;
        responses.push({
          status,
          headers,
          body: body.toString('latin1'),
          get: (name) => header(headers, name.toLowerCase())[0],
        });
        // An answer that closes the connection is awaited to its close, so `closed` is true.
        if (responses.length >= expected && (responses.at(-1)?.get('connection') !== 'close' || closed)) {
          finish();
          return;
        }
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      drain();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      drain();
      finish();
    });
  });

/** What the backend should have received for one client request. */
export interface Expected {
  readonly method: string;
  readonly target: string;
  readonly host: string;
  readonly body?: string;
}

export interface Hostile {
  readonly activator: Activator;
  readonly backend: RecordingBackend;
  /** The activator's port. */
  readonly port: number;
  /** Sends a canary on a fresh connection and checks it gets its own answer (flushes upstream). */
  canary(): Promise<void>;
  /**
   * The invariant: the backend received exactly `expected` (in order) plus the canaries, each once,
   * well formed, with method, target, Host and body as given.
   */
  expectOnly(expected: readonly Expected[]): Promise<void>;
  close(): Promise<void>;
}

/** One answer of the activator's own: status, X-Ebb-Reason, a one-line body, connection closed. */
export const expectRefused = (out: RawOutcome, status: number, reason: string, mentions: string): void => {
  expect(out.responses.map((r) => r.status)).toEqual([status]);
  const r = out.responses[0];
  expect(r?.get('x-ebb-reason')).toBe(reason);
  expect(r?.body.endsWith('\n')).toBe(true);
  expect(r?.body.trimEnd()).not.toContain('\n');
  expect(r?.body).toContain(mentions);
  expect(out.closed).toBe(true);
};

export const HOST = 'app.test';
let canaries = 0;

/**
 * An activator with one route (`shop/app`, host app.test and any `hosts`, every path unless
 * `pathPrefixes` say otherwise) in front of a recording backend.
 */
export const startHostile = async (
  over: {
    pathPrefixes?: string[];
    hosts?: string[];
    healthPaths?: string[];
    trustedProxies?: readonly string[];
  } = {},
): Promise<Hostile> => {
  const backend = await startRecordingBackend();
  const source = new MemoryEndpointSource();
  source.set(serviceKey('app'), [{ address: '127.0.0.1', port: backend.port }]);
  const opts: ActivatorOptions = {
    endpoints: source,
    routes: [
      routeSpec('app', {
        pathPrefixes: over.pathPrefixes ?? ['/'],
        hosts: [...(over.hosts ?? []), HOST],
        healthPaths: over.healthPaths ?? [],
      }),
    ],
    poke: () => {},
    limits: { drainTimeoutMs: 5_000 },
    id: 'activator-hostile',
    ...(over.trustedProxies === undefined ? {} : { trustedProxies: over.trustedProxies }),
  };
  const activator = createActivator(opts);
  await new Promise<void>((resolve) => activator.server.listen(0, '127.0.0.1', resolve));
  const port = (activator.server.address() as AddressInfo).port;
  const canaryTargets = new Set<string>();
  // Under the route's first prefix, so the canary is routed whatever the prefixes are.
  const canaryBase = (over.pathPrefixes?.[0] ?? '/').replace(/\/$/, '');
  const canary = async (): Promise<void> => {
    const target = `${canaryBase}/canary/${++canaries}`;
    canaryTargets.add(target);
    const out = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    expect(out.responses.map((r) => r.body)).toEqual([`seen GET ${target}`]);
  };
  return {
    activator,
    backend,
    port,
    canary,
    expectOnly: async (expected) => {
      await canary();
      expect(backend.errors).toEqual([]);
      const got = backend.seen
        .filter((r) => !canaryTargets.has(r.target))
        .map((r) => ({
          method: r.method,
          target: r.target,
          host: r.all('host'),
          body: r.body,
          version: r.version,
        }));
      expect(got).toEqual(
        expected.map((e) => ({
          method: e.method,
          target: e.target,
          host: [e.host],
          body: e.body ?? '',
          version: 'HTTP/1.1',
        })),
      );
    },
    close: async () => {
      await activator.close();
      await backend.close();
    },
  };
};
