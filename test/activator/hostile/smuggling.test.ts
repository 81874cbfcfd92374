// Request smuggling and response-queue poisoning through the activator, with raw bytes: framing
// named in Connection, CL/TE combinations, obs-fold, bare CR/LF, duplicate headers, Upgrade with
// a body, and the response direction. Every case ends with the invariant (harness.ts).
import { describe, expect, it, vi } from 'vitest';
import { closeAfterEach } from '../helpers.ts';
import { echo, expectRefused, HOST, rawExchange, startHostile } from './harness.ts';

vi.setConfig({ testTimeout: 30_000 });
const track = closeAfterEach();

const SMUGGLED = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

describe('Connection tokens cannot unframe the forwarded request', () => {
  for (const method of ['GET', 'DELETE', 'OPTIONS', 'POST']) {
    it(`${method} with Connection: content-length and a request as its body is forwarded once, body and all`, async () => {
      const h = track(await startHostile());
      const out = await rawExchange(
        h.port,
        `${method} / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
      );
      expect(out.responses.map((r) => r.body)).toEqual([`seen ${method} /`]);
      await h.expectOnly([{ method, target: '/', host: HOST, body: SMUGGLED }]);
    });
  }

  it('the next client on the pooled upstream connection gets its own answer, not the smuggled one', async () => {
    const h = track(await startHostile());
    // The smuggled request's answer comes a little later, as a real one would, when the
    // connection is back in the activator's pool and waiting for the next client.
    h.backend.respond = (req) =>
      req.target === '/smuggled' ? { raw: echo(req, 'x-smuggled: 1\r\n'), afterMs: 50 } : undefined;
    const attack = `GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: content-length\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`;
    const attacker = await rawExchange(h.port, attack);
    expect(attacker.responses.map((r) => r.body)).toEqual(['seen GET /']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const victim = await rawExchange(h.port, `GET /victim HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    expect(victim.responses.map((r) => [r.body, r.get('x-smuggled')])).toEqual([
      ['seen GET /victim', undefined],
    ]);
    await h.expectOnly([
      { method: 'GET', target: '/', host: HOST, body: SMUGGLED },
      { method: 'GET', target: '/victim', host: HOST },
    ]);
  });

  it('a chunked GET with Connection: transfer-encoding is forwarded chunked, once', async () => {
    const h = track(await startHostile());
    const chunk = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
    const out = await rawExchange(
      h.port,
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Transfer-Encoding, keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`,
    );
    expect(out.responses.map((r) => r.body)).toEqual(['seen GET /']);
    await h.expectOnly([{ method: 'GET', target: '/', host: HOST, body: SMUGGLED }]);
  });

  it('Connection: host leaves the Host on the forwarded request', async () => {
    const h = track(await startHostile());
    const out = await rawExchange(h.port, `GET /x HTTP/1.1\r\nHost: ${HOST}\r\nConnection: host\r\n\r\n`);
    expect(out.responses.map((r) => r.status)).toEqual([200]);
    await h.expectOnly([{ method: 'GET', target: '/x', host: HOST }]);
  });

  it('an ordinary header named in Connection is removed (RFC 9110 §7.6.1), the rest kept', async () => {
    const h = track(await startHostile());
    await rawExchange(
      h.port,
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: x-hop, close\r\nX-Hop: 1\r\nX-Kept: 2\r\n\r\n`,
    );
    await h.expectOnly([{ method: 'GET', target: '/', host: HOST }]);
    const seen = h.backend.seen[0];
    expect([seen?.all('x-hop'), seen?.all('x-kept'), seen?.all('connection')]).toEqual([
      [],
      ['2'],
      ['keep-alive'],
    ]);
  });

  for (const name of ['X-Forwarded-For', 'x-forwarded-proto', 'X-Forwarded-Host', 'Forwarded']) {
    it(`Connection naming ${name} (a header the activator sets) is refused with 400`, async () => {
      const h = track(await startHostile());
      const out = await rawExchange(
        h.port,
        `GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: keep-alive, ${name}\r\n${name}: 1.2.3.4\r\n\r\n`,
      );
      expectRefused(out, 400, 'InvalidConnectionHeader', name.toLowerCase());
      await h.expectOnly([]);
    });
  }

  it('a Connection header naming 10 or more options is refused (Envoy: MAX_ALLOWED_NOMINATED_HEADERS)', async () => {
    const h = track(await startHostile());
    const tokens = Array.from({ length: 10 }, (_, i) => `x-${i}`).join(', ');
    const out = await rawExchange(h.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: ${tokens}\r\n\r\n`);
    expectRefused(out, 400, 'InvalidConnectionHeader', '10');
    await h.expectOnly([]);
  });
});

describe('framing the parser refuses never reaches the backend', () => {
  const rows: { label: string; bytes: string; status: number; reason: string; mentions: string }[] = [
    {
      label: 'Content-Length with Transfer-Encoding',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'Transfer-Encoding',
    },
    {
      label: 'two Content-Lengths that differ',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc${SMUGGLED}`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'Content-Length',
    },
    {
      label: 'a Content-Length list',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 3, 3\r\n\r\nabc`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'Content-Length',
    },
    {
      label: 'Transfer-Encoding: chunked, identity',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'Transfer-Encoding',
    },
    {
      label: 'Transfer-Encoding whose last coding is not chunked',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip\r\n\r\n${SMUGGLED}`,
      status: 400,
      reason: 'InvalidFraming',
      mentions: 'Transfer-Encoding',
    },
    {
      label: 'a coding before chunked (RFC 9112 §6.1: 501 for a coding the server does not know)',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`,
      status: 501,
      reason: 'UnsupportedTransferCoding',
      mentions: 'gzip',
    },
    {
      label: 'the same split over two Transfer-Encoding lines',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`,
      status: 501,
      reason: 'UnsupportedTransferCoding',
      mentions: 'gzip',
    },
    {
      label: 'Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1: faulty framing)',
      bytes: `POST / HTTP/1.0\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`,
      status: 400,
      reason: 'InvalidFraming',
      mentions: 'HTTP/1.0',
    },
    {
      label: 'a chunk size that is not hex',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'chunk size',
    },
    {
      label: 'a chunk size that overflows',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\nx\r\n0\r\n\r\n`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'hunk size',
    },
    {
      label: 'obs-fold (RFC 9112 §5.2: 400 or replace; refused)',
      bytes: `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-A: 1\r\n Content-Length: 40\r\n\r\n`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'whitespace',
    },
    {
      label: 'bare LF line ends',
      bytes: `GET / HTTP/1.1\nHost: ${HOST}\n\n`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'CRLF',
    },
    {
      label: 'a bare CR inside a header value',
      bytes: `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-A: 1\rContent-Length: 40\r\n\r\n`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'LF',
    },
    {
      label: 'whitespace between a field name and its colon',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
      status: 400,
      reason: 'MalformedRequest',
      mentions: 'header',
    },
    {
      label: 'two Host lines (RFC 9112 §3.2)',
      bytes: `GET / HTTP/1.1\r\nHost: ${HOST}\r\nHost: other.test\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'Host',
    },
    {
      label: 'two identical Host lines',
      bytes: `GET / HTTP/1.1\r\nHost: ${HOST}\r\nhost: ${HOST}\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'Host',
    },
    {
      label: 'an Upgrade request with a body',
      bytes: `POST / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc${SMUGGLED}`,
      status: 400,
      reason: 'InvalidFraming',
      mentions: 'Upgrade',
    },
  ];
  for (const row of rows) {
    it(`${row.label}: ${row.status} ${row.reason}`, async () => {
      const h = track(await startHostile());
      expectRefused(await rawExchange(h.port, row.bytes), row.status, row.reason, row.mentions);
      await h.expectOnly([]);
    });
  }
});

describe('the response direction keeps its framing', () => {
  it("an upstream's Connection: content-length does not remove the response's Content-Length", async () => {
    const h = track(await startHostile());
    h.backend.respond = (req) =>
      'HTTP/1.1 200 OK\r\nConnection: content-length, x-internal\r\nX-Internal: 1\r\nContent-Length: 5\r\n\r\n' +
      (req.method === 'HEAD' ? '' : 'hello');
    const out = await rawExchange(h.port, `HEAD / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`, { head: true });
    expect(out.responses.map((r) => [r.status, r.get('content-length'), r.get('x-internal')])).toEqual([
      [200, '5', undefined],
    ]);
    const get = await rawExchange(h.port, `GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    expect(get.responses.map((r) => [r.get('content-length'), r.get('transfer-encoding'), r.body])).toEqual([
      ['5', undefined, 'hello'],
    ]);
    h.backend.respond = () => undefined;
    await h.expectOnly([
      { method: 'HEAD', target: '/', host: HOST },
      { method: 'GET', target: '/', host: HOST },
    ]);
  });

  it("an upstream's Connection: transfer-encoding still gives the client a framed body", async () => {
    const h = track(await startHostile());
    h.backend.respond = () =>
      'HTTP/1.1 200 OK\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    const out = await rawExchange(
      h.port,
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      {
        expect: 2,
      },
    );
    expect(out.responses.map((r) => r.body)).toEqual(['hello', 'hello']);
    expect(out.rest).toBe('');
  });
});
