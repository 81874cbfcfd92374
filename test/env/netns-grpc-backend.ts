// One replica of a test gRPC backend: an h2c server (node:http2, prior knowledge) the test
// kubelet (kubelet.ts, `backend: 'grpc'`) starts inside the test network namespace, run directly
// by Node (type stripping; no imports but node:* and backend-args.ts).
//
//   node netns-grpc-backend.ts --name greeter-0 --address 10.213.0.3 --port 8080 [--start-delay-ms N]
//
//   GET /healthz                 200 "ok" (the kubelet's readiness probe, over h2c)
//   POST with content-type application/grpc…, any method path: every length-prefixed message
//                                the client sends is sent back as it arrives (an echo for each
//                                call kind: unary, client/server streaming, bidirectional); at the
//                                client's end the trailers grpc-status 0 and x-served-by: <name>
//   anything else                grpc-status 12 (UNIMPLEMENTED), trailers-only
//
// SIGTERM: stop accepting, finish the open streams, exit 0.
import { createServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { backendArgs } from './backend-args.ts';

const { name, address, port, startDelayMs } = backendArgs();

const server = createServer();
server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
  stream.on('error', () => {});
  if (headers[':path'] === '/healthz') {
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('ok\n');
    return;
  }
  if (headers[':method'] !== 'POST' || !String(headers['content-type']).startsWith('application/grpc')) {
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'not gRPC' },
      { endStream: true },
    );
    return;
  }
  // The messages' bytes go back unchanged: gRPC's framing (1 flag byte, 4 length bytes,
  // message) survives any split into DATA frames.
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-served-by': name }));
  stream.pipe(stream);
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
});

await new Promise((resolve) => setTimeout(resolve, startDelayMs));
server.listen(port, address, () => {
  process.stdout.write(`${name} listening on ${address}:${port} (h2c)\n`);
});
