// The example app of `ebb local` (node:http, no dependencies). Listens on 127.0.0.1:$PORT after
// $STARTUP_DELAY_MS (a slow start makes the cold start visible); /healthz answers once ready.
//   GET /        hello from <replica name>, after $WORK_MS of "work"
//   GET /healthz ok
// SIGTERM: stops accepting, finishes what is in flight, exits 0.
import { createServer } from 'node:http';

const port = Number(process.env.PORT);
const startupDelayMs = Number(process.env.STARTUP_DELAY_MS ?? '0');
const workMs = Number(process.env.WORK_MS ?? '0');
const name = process.env.APP_NAME ?? 'app';
if (!Number.isInteger(port) || port <= 0) {
  console.error('app.js: PORT must be set to a port number');
  process.exit(2);
}

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    return;
  }
  setTimeout(() => {
    res
      .writeHead(200, { 'content-type': 'text/plain' })
      .end(`hello from ${name} (pid ${process.pid}, port ${port})\n`);
  }, workMs);
});

setTimeout(() => {
  server.listen(port, '127.0.0.1', () => console.log(`${name} listening on 127.0.0.1:${port}`));
}, startupDelayMs);

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
