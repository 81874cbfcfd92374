// gRPC for the activator benchmark: one unary method, `/bench.Echo/Call`, whose messages are raw
// bytes (no protobuf: the serialisation is the identity, so what is measured is gRPC's framing
// and HTTP/2, not a codec). The server runs in the `grpcbackend` child
// (test/activator/bench-processes.ts), the client in the bench's own process.
import {
  ChannelCredentials,
  Client,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
} from '@grpc/grpc-js';

const PATH = '/bench.Echo/Call';
const bytes = (b: Buffer): Buffer => b;

/** Starts the echo server on 127.0.0.1 (plaintext: h2c); resolves its port. */
export const startEchoServer = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = new Server();
    server.addService(
      {
        Call: {
          path: PATH,
          requestStream: false,
          responseStream: false,
          requestDeserialize: bytes,
          responseSerialize: bytes,
          requestSerialize: bytes,
          responseDeserialize: bytes,
        },
      },
      {
        Call: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          callback(null, call.request);
        },
      },
    );
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) =>
      err === null ? resolve(port) : reject(err),
    );
  });

export interface EchoClient {
  /** One unary call; rejects with the gRPC status when it is not OK. */
  call(message: Buffer): Promise<Buffer>;
  close(): void;
}

/**
 * A client on one channel (one HTTP/2 connection) to 127.0.0.1:`port`; `authority` is the
 * `:authority` it sends (the activator routes on it).
 */
export const echoClient = async (port: number, authority: string): Promise<EchoClient> => {
  const client = new Client(`127.0.0.1:${port}`, ChannelCredentials.createInsecure(), {
    'grpc.default_authority': authority,
  });
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + 10_000, (err) => (err === undefined ? resolve() : reject(err))),
  );
  return {
    call: (message) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(PATH, bytes, bytes, message, (err, value) => {
          if (err !== null || value === undefined) reject(err ?? new Error('no message'));
          else resolve(value);
        });
      }),
    close: () => client.close(),
  };
};
