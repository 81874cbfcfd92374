// One replica of a test backend: a node:http server the test kubelet (kubelet.ts) starts inside
// the test network namespace, run directly by Node (type stripping; no imports but node:*).
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
//
// SIGTERM: stop accepting, finish what is in flight, exit 0 (graceful, as a pod would).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const arg = (flag: string, fallback?: string): string => {
  const i = process.argv.indexOf(flag);
  const value = i >= 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`missing ${flag}`);
  return value;
};

const name = arg('--name');
const address = arg('--address');
const port = Number(arg('--port'));
const startDelayMs = Number(arg('--start-delay-ms', '0'));

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

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});

await sleep(startDelayMs);
server.listen(port, address, () => {
  process.stdout.write(`${name} listening on ${address}:${port}\n`);
});
