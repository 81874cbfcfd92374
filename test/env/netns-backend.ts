// One replica of a test backend: a node:http server the test kubelet (kubelet.ts) starts inside
// the test network namespace, run directly by Node (type stripping; no imports but node:* and
// backend-args.ts).
//
//   node netns-backend.ts --name web-0 --address 10.213.0.3 --port 8080 [--start-delay-ms 2000]
//
//   GET  /healthz            200 "ok" (the kubelet's readiness probe; not counted)
//   GET  /stats              { name, inFlight, maxInFlight, served } (not counted)
//   any  /sse?events=N&intervalMs=M   text/event-stream, N events M ms apart, each flushed
//   any  /status/<code>      that status
//   POST /echo               the request body streamed back
//   any  other path          200 JSON { name, address, port, method, path, headers }
//   ?delayMs=N on any counted request: answer after N ms (to hold requests in flight)
//   GET  /ws (Upgrade: websocket)  a minimal RFC 6455 echo: each data frame is sent back with
//        the same opcode (unmasked), ping → pong, close → close; counted in flight while open
//
// SIGTERM: stop accepting, finish what is in flight, exit 0 (graceful, as a pod would).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { backendArgs } from './backend-args.ts';

const { name, address, port, startDelayMs } = backendArgs();

let inFlight = 0;
let maxInFlight = 0;
let served = 0;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const json = (res: ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

async function counted(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const delayMs = Number(url.searchParams.get('delayMs') ?? '0');
  if (delayMs > 0) await sleep(delayMs);
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status !== null) {
    res.writeHead(Number(status[1]), { 'content-type': 'text/plain' });
    res.end(`${name}: status ${status[1]}\n`);
    return;
  }
  if (url.pathname === '/echo' && req.method === 'POST') {
    res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
    req.pipe(res);
    await new Promise<void>((resolve) => res.on('close', resolve));
    return;
  }
  if (url.pathname === '/sse') {
    const events = Number(url.searchParams.get('events') ?? '3');
    const intervalMs = Number(url.searchParams.get('intervalMs') ?? '100');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    for (let i = 0; i < events && !res.destroyed; i++) {
      if (i > 0) await sleep(intervalMs);
      res.write(`id: ${i}\ndata: ${name} ${i}\n\n`);
    }
    res.end();
    return;
  }
  json(res, 200, { name, address, port, method: req.method, path: url.pathname, headers: req.headers });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? address}`);
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  if (url.pathname === '/stats') {
    json(res, 200, { name, inFlight, maxInFlight, served });
    return;
  }
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  counted(req, res, url)
    .catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { name, error: String(error) });
      else res.destroy();
    })
    .finally(() => {
      inFlight--;
      served++;
    });
});

// ---- WebSocket echo (RFC 6455 §5: base framing; §4.2.2: the accept key) ----

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One frame from server to client: FIN set, never masked. */
const wsFrame = (opcode: number, payload: Buffer): Buffer => {
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([0x80 | opcode, n])
      : n < 65_536
        ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(n)]);
  return Buffer.concat([head, payload]);
};

const bigLength = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};

const wsEcho = (socket: Duplex, head: Buffer): void => {
  let buffered = head;
  let closed = false;
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    for (;;) {
      if (buffered.length < 2) return;
      const b0 = buffered[0] ?? 0;
      const b1 = buffered[1] ?? 0;
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const maskAt = offset;
      if (masked) offset += 4;
      if (buffered.length < offset + length) return;
      const payload = Buffer.from(buffered.subarray(offset, offset + length));
      if (masked)
        for (let i = 0; i < payload.length; i++)
          payload[i] = (payload[i] ?? 0) ^ (buffered[maskAt + (i % 4)] ?? 0);
      buffered = buffered.subarray(offset + length);
      const opcode = b0 & 0x0f;
      if (opcode === 0x8) {
        if (!closed) socket.end(wsFrame(0x8, payload));
        closed = true;
        return;
      }
      if (opcode === 0x9) socket.write(wsFrame(0xa, payload));
      else if (opcode !== 0xa)
        socket.write(Buffer.concat([Buffer.from([b0]), wsFrame(0, payload).subarray(1)]));
    }
  };
  socket.on('data', onData);
  if (head.length > 0) onData(Buffer.alloc(0));
};

server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  socket.on('error', () => socket.destroy());
  const url = new URL(req.url ?? '/', `http://${address}`);
  const key = req.headers['sec-websocket-key'];
  if (url.pathname !== '/ws' || req.headers.upgrade?.toLowerCase() !== 'websocket' || key === undefined) {
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    return;
  }
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
  );
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  socket.once('close', () => {
    inFlight--;
    served++;
  });
  wsEcho(socket, head);
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});

await sleep(startDelayMs);
server.listen(port, address, () => {
  process.stdout.write(`${name} listening on ${address}:${port}\n`);
});
