// The invariant as a property: random requests (method, path with dot-segments and
// percent-encodings, header sets, Connection options naming anything, bodies framed by length or
// chunks that may themselves hold a whole request) through one real activator to one recording
// backend, each sent while an ordinary client's request is in flight on another connection.
// For every case: the backend receives at most one request for it, with the method, the
// normalised target (computed here by RFC 3986 §5.2.4's own algorithm, not the activator's
// code), the Host and the body sent; no header the Connection named, no hop-by-hop header, the
// activator's own X-Forwarded-*; and each client gets its own answer.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { HOST, type Hostile, rawExchange, type SeenRequest, startHostile } from './harness.ts';

vi.setConfig({ testTimeout: 120_000 });

let h: Hostile;
beforeAll(async () => {
  h = await startHostile();
});
afterAll(() => h.close());

const SMUGGLED = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
const GENERATED = ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded'];
const HOP_BY_HOP = ['keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'upgrade'];

/** RFC 3986 §6.2.2.2 + merged slashes + §5.2.4's remove_dot_segments; undefined above the root. */
const referencePath = (path: string): string | undefined => {
  const decoded = path.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => {
    const c = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
  let input = decoded.replace(/\/+/g, '/');
  let output = '';
  while (input.length > 0) {
    if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../') || input === '/..') {
      if (output === '') return undefined;
      input = input === '/..' ? '/' : input.slice(3);
      output = output.slice(0, output.lastIndexOf('/'));
    } else {
      const segment = /^\/?[^/]*/.exec(input)?.[0] ?? input;
      output += segment;
      input = input.slice(segment.length);
    }
  }
  return output;
};

const segment = fc.constantFrom(
  'a',
  'b',
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '.%2e',
  '',
  'c%2Fd',
  '%41',
  '%7e',
  '%zz',
  'x.y',
  '.git',
);
const query = fc.constantFrom('', '?q=1', '?a=/../b&c=%2e', '?x=%zz');
const headerLine = fc.tuple(
  fc.constantFrom(
    'X-A',
    'x-b',
    'Accept',
    'Keep-Alive',
    'TE',
    'Trailer',
    'Proxy-Authorization',
    'Upgrade',
    ...GENERATED,
  ),
  fc.constantFrom('1', 'https', 'trailers', 'evil.example', '203.0.113.9'),
);
const connectionOption = fc.constantFrom(
  'keep-alive',
  'close',
  'Content-Length',
  'transfer-encoding',
  'Host',
  'x-a',
  'X-B',
  'accept',
  'te',
  'upgrade',
  'connection',
  ...GENERATED,
);
const hostileRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'),
  segments: fc.array(segment, { maxLength: 6 }),
  query,
  headers: fc.array(headerLine, { maxLength: 6 }),
  connection: fc.uniqueArray(connectionOption, { maxLength: 12 }),
  framing: fc.constantFrom('none', 'length', 'chunked'),
  body: fc.constantFrom('', 'hello', SMUGGLED, 'x'.repeat(300)),
});
type HostileRequest = typeof hostileRequest extends fc.Arbitrary<infer T> ? T : never;

const encode = (c: HostileRequest): string => {
  let head = `${c.method} /${c.segments.join('/')}${c.query} HTTP/1.1\r\nHost: ${HOST}\r\n`;
  for (const [name, value] of c.headers) head += `${name}: ${value}\r\n`;
  if (c.connection.length > 0) head += `Connection: ${c.connection.join(', ')}\r\n`;
  if (c.framing === 'length') return `${head}Content-Length: ${c.body.length}\r\n\r\n${c.body}`;
  if (c.framing === 'chunked') {
    const chunk = c.body === '' ? '' : `${c.body.length.toString(16)}\r\n${c.body}\r\n`;
    return `${head}Transfer-Encoding: chunked\r\n\r\n${chunk}0\r\n\r\n`;
  }
  return `${head}\r\n`;
};

/** `Connection: upgrade` with an Upgrade header: an Upgrade request (node's 'upgrade' event). */
const isUpgrade = (c: HostileRequest): boolean =>
  c.connection.includes('upgrade') && c.headers.some(([n]) => n.toLowerCase() === 'upgrade');

/** Refused (400, or 403 for an Upgrade the route does not relay), or what the backend must receive. */
const expectation = (c: HostileRequest): 400 | 403 | { target: string; body: string } => {
  const named = c.connection.map((t) => t.toLowerCase());
  // An Upgrade with a body: refused (its bytes would pass for the new protocol's).
  if (isUpgrade(c) && (c.framing === 'chunked' || (c.framing === 'length' && c.body !== ''))) return 400;
  // Connection naming a header the activator sets, or 10+ options (Envoy's rule).
  if (named.some((t) => GENERATED.includes(t)) || named.length >= 10) return 400;
  const raw = `/${c.segments.join('/')}`;
  // A % without two hex digits after it, or a path above the root.
  const path = /%(?![0-9a-fA-F]{2})/.test(raw) ? undefined : referencePath(raw);
  if (path === undefined) return 400;
  // Checked, then routed, then its protocol (never websocket nor h2c here) refused: 403.
  if (isUpgrade(c)) return 403;
  return { target: path + c.query, body: c.framing === 'none' ? '' : c.body };
};

const checkHeaders = (c: HostileRequest, seen: SeenRequest): void => {
  const named = new Set(c.connection.map((t) => t.toLowerCase()));
  const sent = new Set(c.headers.map(([n]) => n.toLowerCase()));
  for (const name of ['x-a', 'x-b', 'accept'])
    expect([name, seen.all(name).length > 0]).toEqual([name, sent.has(name) && !named.has(name)]);
  // Only plain requests get here (an Upgrade is refused above): every hop-by-hop header is gone.
  for (const name of HOP_BY_HOP) expect([name, seen.all(name)]).toEqual([name, []]);
  expect(seen.all('connection')).not.toContain('upgrade');
  const xff = seen.all('x-forwarded-for');
  expect(xff.length === 1 && xff[0]?.endsWith('127.0.0.1')).toBe(true);
  expect(seen.all('x-forwarded-proto')).toEqual(['http']);
  expect(seen.all('x-forwarded-host')).toEqual([HOST]);
  expect(seen.all('forwarded')).toEqual([]);
};

let victims = 0;

it('every request reaches the backend at most once, as sent, and every answer its own client', async () => {
  await fc.assert(
    fc.asyncProperty(hostileRequest, async (c) => {
      h.backend.seen.length = 0;
      const victim = `/victim/${++victims}`;
      const [out, victimOut] = await Promise.all([
        rawExchange(h.port, encode(c)),
        rawExchange(h.port, `GET ${victim} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`),
      ]);
      await h.canary();
      expect(h.backend.errors).toEqual([]);
      expect(victimOut.responses.map((r) => r.body)).toEqual([`seen GET ${victim}`]);
      const seen = h.backend.seen.filter((r) => r.target !== victim && !r.target.startsWith('/canary/'));
      const want = expectation(c);
      if (want === 400 || want === 403) {
        expect(out.responses.map((r) => r.status)).toEqual([want]);
        expect(seen).toEqual([]);
        return;
      }
      expect(out.responses.map((r) => r.body)).toEqual([`seen ${c.method} ${want.target}`]);
      expect(seen.map((r) => [r.method, r.target, r.all('host'), r.body])).toEqual([
        [c.method, want.target, [HOST], want.body],
      ]);
      checkHeaders(c, seen[0] as SeenRequest);
    }),
    { numRuns: 150 },
  );
});

it('the reference normaliser agrees with the hand-made rows', () => {
  expect(['/a/./b/../c', '/a//../b', '/a/%2e%2E/x', '/..', '/a/.', '/c%2fd'].map(referencePath)).toEqual([
    '/a/c',
    '/b',
    '/x',
    undefined,
    '/a/',
    '/c%2Fd',
  ]);
});
