// The status page of `ebb local` on a real socket, spoken to in raw bytes as a DNS-rebinding page
// would: a request whose Host is not one of the page's own names is refused (421, RFC 9110
// §15.5.20) before any data is read, and every answer carries a self-only Content-Security-Policy,
// X-Frame-Options: DENY and nosniff. The page itself has no inline script or style, so the policy
// does not break it (test/integration/local-browser.test.ts runs it in Chromium).
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createStatusServer, type StatusPageData } from '../../../src/platform/local/status-page.ts';

const SNAPSHOT: StatusPageData = { now: 0, objects: [], file: 'ebb.yaml', url: 'http://127.0.0.1:8080/' };

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

const start = async (allowedHosts: readonly string[] = []): Promise<number> => {
  const server = createStatusServer(() => SNAPSHOT, { allowedHosts });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return address.port;
};

interface Raw {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends `head` as it is (no Host added), reads until the server closes. */
const raw = (port: number, head: string): Promise<Raw> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [top = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = top.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
    socket.end(`${head}\r\nConnection: close\r\n\r\n`);
  });

const get = (port: number, host: string | undefined, path = '/', version = '1.1') =>
  raw(port, `GET ${path} HTTP/${version}${host === undefined ? '' : `\r\nHost: ${host}`}`);

const expectHardened = (r: Raw) => {
  expect(r.headers['content-security-policy']).toMatch(/^default-src 'self';/);
  expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(r.headers['x-frame-options']).toBe('DENY');
  expect(r.headers['x-content-type-options']).toBe('nosniff');
};

describe('the status page answers only its own Host names', () => {
  it.each([
    { host: 'evil.example', why: 'a rebinding name' },
    { host: 'evil.example:PORT', why: 'a rebinding name with the right port' },
    { host: 'localhost.evil.example:PORT', why: 'a name that starts like ours' },
    { host: '127.0.0.1:1', why: 'our address on another port' },
    { host: '10.0.0.1:PORT', why: 'another address' },
    { host: '', why: 'an empty Host' },
  ])('refuses Host "$host" ($why) with 421 and no data', async ({ host }) => {
    const port = await start();
    for (const path of ['/', '/api/status']) {
      const r = await get(port, host.replace('PORT', String(port)), path);
      expect(r.status, path).toBe(421);
      expect(r.body).toMatch(/^this server answers only for /);
      expect(r.body).not.toContain('ebb.yaml');
      expectHardened(r);
    }
  });

  it('refuses an HTTP/1.0 request without Host (it cannot show it is for us)', async () => {
    const port = await start();
    const r = await get(port, undefined, '/api/status', '1.0');
    expect(r.status).toBe(421);
    expect(r.body).not.toContain('ebb.yaml');
  });

  it('answers its loopback names on its port, in any case, and the names --ui-allowed-host adds', async () => {
    const port = await start(['dev.example.test']);
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LocalHost:${port}`,
      `[::1]:${port}`,
      'localhost',
      `dev.example.test:${port}`,
    ]) {
      const r = await get(port, host, '/api/status');
      expect(r.status, host).toBe(200);
      expect(JSON.parse(r.body), host).toMatchObject({ file: 'ebb.yaml' });
      expectHardened(r);
    }
  });

  it('serves the page with no inline script or style: the policy allows only its own files', async () => {
    const port = await start();
    const page = await get(port, `localhost:${port}`);
    expect(page.status).toBe(200);
    expectHardened(page);
    expect(page.body).toContain('<script src="/status.js"></script>');
    expect(page.body).not.toMatch(/<script>|<style>|style="/);
    const script = await get(port, `localhost:${port}`, '/status.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain("fetch('/api/status'");
    expect(script.body).not.toContain('style="');
    const css = await get(port, `localhost:${port}`, '/status.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const missing = await get(port, `localhost:${port}`, '/nope');
    expect(missing.status).toBe(404);
    expectHardened(missing);
  });
});
