// Real gRPC for the activator tests: an @grpc/grpc-js server on 127.0.0.1 implementing
// test/fixtures/grpc/echo.proto (every method adds the trailing metadata `x-served-by`), and a
// client for it pointed at the activator with the route's host as :authority.
import { fileURLToPath } from 'node:url';
import {
  type Client,
  credentials,
  loadPackageDefinition,
  Metadata,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceClientConstructor,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Endpoint } from '../../src/activator/ports.ts';

export interface Note {
  text: string;
  n: number;
}

const PROTO = fileURLToPath(new URL('../fixtures/grpc/echo.proto', import.meta.url));
const definition = loadPackageDefinition(loadSync(PROTO, { defaults: true }));
const EchoClient = (definition.ebb as { test: { Echo: ServiceClientConstructor } }).test.Echo;
const service: ServiceDefinition = EchoClient.service;

export interface GrpcBackend {
  readonly server: Server;
  readonly endpoint: Endpoint;
  /** Calls that reached the server. */
  calls: number;
  close(): Promise<void>;
}

const served = (): Metadata => {
  const m = new Metadata();
  m.set('x-served-by', 'echo');
  return m;
};

/** Each method echoes, sending `x-served-by: echo` as trailing metadata with the status. */
const echoImplementation = (b: { calls: number }): UntypedServiceImplementation => ({
  Unary: (call: ServerUnaryCall<Note, Note>, done: sendUnaryData<Note>) => {
    b.calls++;
    if (call.request.text === 'fail') {
      done({ code: 9 /* FAILED_PRECONDITION */, details: 'asked to fail', metadata: served() });
      return;
    }
    done(null, { text: `echo ${call.request.text}`, n: call.request.n + 1 }, served());
  },
  ServerStream: (call: ServerWritableStream<Note, Note>) => {
    b.calls++;
    for (let i = 0; i < call.request.n; i++) call.write({ text: `${call.request.text} ${i}`, n: i });
    call.end(served());
  },
  ClientStream: (call: ServerReadableStream<Note, Note>, done: sendUnaryData<Note>) => {
    b.calls++;
    const texts: string[] = [];
    call.on('data', (note: Note) => texts.push(note.text));
    call.on('end', () => done(null, { text: texts.join(','), n: texts.length }, served()));
  },
  Bidi: (call: ServerDuplexStream<Note, Note>) => {
    b.calls++;
    call.on('data', (note: Note) => call.write({ text: `echo ${note.text}`, n: note.n }));
    call.on('end', () => call.end(served()));
  },
});

export const startGrpcBackend = async (): Promise<GrpcBackend> => {
  const server = new Server();
  const b = { calls: 0 };
  server.addService(service, echoImplementation(b));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );
  return Object.assign(b, {
    server,
    endpoint: { address: '127.0.0.1', port, protocol: 'h2c' as const },
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  });
};

/** The Echo service's client methods (grpc-js makes them at run time from the .proto). */
export interface EchoClient extends Client {
  Unary(req: Note, md: Metadata, opts: CallOpts, cb: (err: GrpcError | null, res?: Note) => void): unknown;
  ServerStream(req: Note, md: Metadata, opts: CallOpts): NodeJS.ReadableStream & StatusEvents;
  ClientStream(
    md: Metadata,
    opts: CallOpts,
    cb: (err: GrpcError | null, res?: Note) => void,
  ): NodeJS.WritableStream & StatusEvents & { write(n: Note): boolean };
  Bidi(md: Metadata, opts: CallOpts): BidiCall;
}

export interface CallOpts {
  deadline?: number;
}

export interface GrpcStatus {
  readonly code: number;
  readonly details: string;
  readonly metadata: Metadata;
}

export interface GrpcError extends Error, GrpcStatus {}

interface StatusEvents {
  on(event: 'status', l: (s: GrpcStatus) => void): this;
  on(event: 'data', l: (n: Note) => void): this;
  on(event: 'error', l: (e: GrpcError) => void): this;
  on(event: 'end', l: () => void): this;
  cancel(): void;
}

export type BidiCall = StatusEvents & { write(n: Note): boolean; end(): void };

/** A client for the activator on `port`, sending `host` as :authority (the route's host), on a
 * connection of its own (grpc-js would otherwise share one between clients of the same target). */
export const echoClient = (port: number, host: string): EchoClient & { closed(): Promise<void> } => {
  const client = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure(), {
    'grpc.default_authority': host,
    'grpc.use_local_subchannel_pool': 1,
  }) as unknown as EchoClient;
  return Object.assign(client, {
    closed: async (): Promise<void> => client.close(),
  });
};

/** A unary call's outcome: its status, and the reply when OK (grpc-js calls back before 'status'). */
export const unary = (
  client: EchoClient,
  text: string,
  opts: CallOpts = {},
): Promise<{ reply?: Note; status: GrpcStatus }> =>
  new Promise((resolve) => {
    let reply: Note | undefined;
    const call = client.Unary({ text, n: 1 }, new Metadata(), opts, (_err, res) => {
      reply = res;
    }) as { on(e: 'status', l: (s: GrpcStatus) => void): void };
    call.on('status', (status) => resolve(reply === undefined ? { status } : { reply, status }));
  });

/** Runs a bidirectional call: sends `texts`, ends, resolves with the replies and the status. */
export const bidi = (
  client: EchoClient,
  texts: readonly string[],
  opts: CallOpts = {},
): Promise<{ replies: Note[]; status: GrpcStatus }> =>
  new Promise((resolve) => {
    const call = client.Bidi(new Metadata(), opts);
    const replies: Note[] = [];
    call.on('data', (n) => replies.push(n));
    call.on('error', () => {});
    call.on('status', (status) => resolve({ replies, status }));
    for (const [i, text] of texts.entries()) call.write({ text, n: i });
    call.end();
  });
