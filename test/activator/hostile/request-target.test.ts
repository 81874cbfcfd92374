// Request-target forms and Host (RFC 9112 §3.2–3.3) with raw bytes through a real activator:
// what is routed, what the endpoint receives, and the 400/501/505 answers with their reasons.
import { describe, expect, it, vi } from 'vitest';
import { closeAfterEach } from '../helpers.ts';
import { expectRefused, HOST, rawExchange, startHostile } from './harness.ts';

vi.setConfig({ testTimeout: 30_000 });
const track = closeAfterEach();

describe('forwarded as origin-form with the right Host', () => {
  const rows: { label: string; line: string; host?: string; target: string; forwardedHost: string }[] = [
    {
      label: 'absolute-form: the authority replaces Host (RFC 9112 §3.2.2)',
      line: 'GET http://app.test/x?y HTTP/1.1',
      host: 'other.test',
      target: '/x?y',
      forwardedHost: 'app.test',
    },
    {
      label: 'absolute-form: scheme in any case, port and case kept in Host, routed case-free',
      line: 'GET HTTP://App.Test:8080/x HTTP/1.1',
      host: 'other.test',
      target: '/x',
      forwardedHost: 'App.Test:8080',
    },
    {
      label: 'absolute-form with an empty path gets /',
      line: 'GET http://app.test HTTP/1.1',
      host: 'app.test',
      target: '/',
      forwardedHost: 'app.test',
    },
    {
      label: 'absolute-form with a query and no path gets /?query',
      line: 'GET http://app.test?q=1 HTTP/1.1',
      host: 'app.test',
      target: '/?q=1',
      forwardedHost: 'app.test',
    },
    {
      label: 'absolute-form https (the scheme is not forwarded: X-Forwarded-Proto is this hop’s)',
      line: 'GET https://app.test/s HTTP/1.1',
      host: 'app.test',
      target: '/s',
      forwardedHost: 'app.test',
    },
    {
      label: 'absolute-form path is normalised too',
      line: 'GET http://app.test/a/../b HTTP/1.1',
      host: 'app.test',
      target: '/b',
      forwardedHost: 'app.test',
    },
    {
      label: 'a trailing dot in Host routes like the name without it',
      line: 'GET /x HTTP/1.1',
      host: 'app.test.',
      target: '/x',
      forwardedHost: 'app.test.',
    },
    {
      label: 'Host in upper case with a port',
      line: 'GET /x HTTP/1.1',
      host: 'APP.test:80',
      target: '/x',
      forwardedHost: 'APP.test:80',
    },
    {
      label: 'OPTIONS * goes to the host’s / route as OPTIONS * (RFC 9112 §3.2.4)',
      line: 'OPTIONS * HTTP/1.1',
      host: 'app.test',
      target: '*',
      forwardedHost: 'app.test',
    },
  ];
  for (const row of rows) {
    it(row.label, async () => {
      const h = track(await startHostile());
      const head = row.host === undefined ? '' : `Host: ${row.host}\r\n`;
      const out = await rawExchange(h.port, `${row.line}\r\n${head}\r\n`);
      const method = row.line.split(' ')[0] ?? '';
      expect(out.responses.map((r) => r.body)).toEqual([`seen ${method} ${row.target}`]);
      await h.expectOnly([{ method, target: row.target, host: row.forwardedHost }]);
    });
  }

  it('HTTP/1.0 without Host is forwarded as HTTP/1.1 with the route’s Service as Host', async () => {
    const h = track(await startHostile({ hosts: ['*'] }));
    const out = await rawExchange(h.port, 'GET /old HTTP/1.0\r\n\r\n');
    expect(out.responses.map((r) => r.body)).toEqual(['seen GET /old']);
    await h.expectOnly([{ method: 'GET', target: '/old', host: 'app.shop.svc' }]);
    expect(h.backend.seen[0]?.all('x-forwarded-host')).toEqual([]);
  });

  it('an empty Host (RFC 9110 §7.2) is routed as no host and forwarded with the Service as Host', async () => {
    const h = track(await startHostile({ hosts: ['*'] }));
    const out = await rawExchange(h.port, 'GET /e HTTP/1.1\r\nHost:\r\n\r\n');
    expect(out.responses.map((r) => r.status)).toEqual([200]);
    await h.expectOnly([{ method: 'GET', target: '/e', host: 'app.shop.svc' }]);
  });

  it('without a * route an HTTP/1.0 request without Host finds no route (404)', async () => {
    const h = track(await startHostile());
    const out = await rawExchange(h.port, 'GET /old HTTP/1.0\r\n\r\n');
    expect(out.responses.map((r) => [r.status, r.get('x-ebb-reason')])).toEqual([[404, 'NoRoute']]);
    await h.expectOnly([]);
  });
});

describe('refused before routing', () => {
  const rows: {
    label: string;
    bytes: string;
    status: number;
    reason: string;
    mentions: string;
    hosts?: string[];
  }[] = [
    {
      label: 'HTTP/1.1 without Host (RFC 9112 §3.2)',
      bytes: 'GET / HTTP/1.1\r\n\r\n',
      status: 400,
      reason: 'InvalidHost',
      mentions: 'Host',
    },
    {
      label: 'an empty label matching a wildcard route (.example.test vs *.example.test)',
      bytes: 'GET / HTTP/1.1\r\nHost: .example.test\r\n\r\n',
      hosts: ['*.example.test'],
      status: 400,
      reason: 'InvalidHost',
      mentions: 'empty label',
    },
    {
      label: 'two dots in a row',
      bytes: 'GET / HTTP/1.1\r\nHost: a..example.test\r\n\r\n',
      hosts: ['*.example.test'],
      status: 400,
      reason: 'InvalidHost',
      mentions: 'empty label',
    },
    {
      label: 'a space in Host',
      bytes: `GET / HTTP/1.1\r\nHost: app.test evil\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'not allowed',
    },
    {
      label: 'a slash in Host',
      bytes: `GET / HTTP/1.1\r\nHost: app.test/x\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'not allowed',
    },
    {
      label: 'userinfo in Host',
      bytes: `GET / HTTP/1.1\r\nHost: u@app.test\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'not allowed',
    },
    {
      label: 'a port above 65535',
      bytes: `GET / HTTP/1.1\r\nHost: app.test:65536\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'port',
    },
    {
      label: 'a port that is not digits',
      bytes: `GET / HTTP/1.1\r\nHost: app.test:8o\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'port',
    },
    {
      label: 'a bracketed host that is not IPv6',
      bytes: `GET / HTTP/1.1\r\nHost: [app.test]\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'IPv6',
    },
    {
      label: 'an invalid Host with an absolute-form target (RFC 9112 §3.2: the field is still checked)',
      bytes: `GET http://app.test/ HTTP/1.1\r\nHost: a..b\r\n\r\n`,
      status: 400,
      reason: 'InvalidHost',
      mentions: 'empty label',
    },
    {
      label: 'absolute-form with a scheme other than http(s)',
      bytes: `GET ftp://app.test/x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      status: 400,
      reason: 'InvalidRequestTarget',
      mentions: 'ftp',
    },
    {
      label: 'absolute-form with userinfo (RFC 9110 §4.2.4)',
      bytes: `GET http://u:p@app.test/x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      status: 400,
      reason: 'InvalidRequestTarget',
      mentions: 'userinfo',
    },
    {
      label: 'absolute-form with an empty host (RFC 9110 §4.2.1)',
      bytes: `GET http:///x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      status: 400,
      reason: 'InvalidRequestTarget',
      mentions: 'empty host',
    },
    {
      label: 'absolute-form with an empty label',
      bytes: `GET http://.app.test/x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      status: 400,
      reason: 'InvalidRequestTarget',
      mentions: 'empty label',
    },
    {
      label: 'asterisk-form with a method other than OPTIONS (RFC 9112 §3.2.4)',
      bytes: `GET * HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      status: 400,
      reason: 'InvalidRequestTarget',
      mentions: 'OPTIONS',
    },
    {
      label: 'authority-form: CONNECT (the activator is no tunnel)',
      bytes: `CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443\r\n\r\n`,
      status: 501,
      reason: 'UnsupportedMethod',
      mentions: 'CONNECT',
    },
    {
      label: 'HTTP/2.0 in HTTP/1 syntax',
      bytes: `GET / HTTP/2.0\r\nHost: ${HOST}\r\n\r\n`,
      status: 505,
      reason: 'UnsupportedHttpVersion',
      mentions: 'HTTP/2.0',
    },
    {
      label: 'an HTTP/0.9 simple request',
      bytes: 'GET /\r\n\r\n',
      status: 505,
      reason: 'UnsupportedHttpVersion',
      mentions: 'HTTP/0.9',
    },
    {
      label: 'an Upgrade whose Host is missing (the Upgrade path is checked too)',
      bytes: 'GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n',
      status: 400,
      reason: 'InvalidHost',
      mentions: 'Host',
    },
  ];
  for (const row of rows) {
    it(`${row.label}: ${row.status} ${row.reason}`, async () => {
      const h = track(await startHostile(row.hosts === undefined ? {} : { hosts: row.hosts }));
      expectRefused(await rawExchange(h.port, row.bytes), row.status, row.reason, row.mentions);
      await h.expectOnly([]);
    });
  }
});
