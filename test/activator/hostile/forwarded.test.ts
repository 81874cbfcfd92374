// Forwarded-header trust (src/activator/forwarded.ts): a client's X-Forwarded-Proto/-Host and
// RFC 7239 Forwarded reach the endpoint only from a trusted proxy; X-Forwarded-For is always
// appended to. The test client connects from 127.0.0.1.
import { describe, expect, it, vi } from 'vitest';
import { ProxyTrust, parseTrustedProxies } from '../../../src/activator/forwarded.ts';
import { closeAfterEach } from '../helpers.ts';
import { HOST, rawExchange, type SeenRequest, startHostile } from './harness.ts';

vi.setConfig({ testTimeout: 30_000 });
const track = closeAfterEach();

const CLAIMS =
  'X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n' +
  'Forwarded: for=203.0.113.7;proto=https;host=evil.example\r\n';

const forwarding = (r: SeenRequest | undefined) => ({
  xff: r?.all('x-forwarded-for'),
  proto: r?.all('x-forwarded-proto'),
  host: r?.all('x-forwarded-host'),
  forwarded: r?.all('forwarded'),
});

describe('what the endpoint is told about the client', () => {
  const rows: { label: string; trusted?: string[]; want: ReturnType<typeof forwarding> }[] = [
    {
      label: 'by default nobody is trusted: proto and host are this hop’s, Forwarded removed',
      want: { xff: ['203.0.113.7, 127.0.0.1'], proto: ['http'], host: [HOST], forwarded: [] },
    },
    {
      label: 'a peer outside the trusted CIDRs is not believed',
      trusted: ['10.0.0.0/8', 'fd00::/8'],
      want: { xff: ['203.0.113.7, 127.0.0.1'], proto: ['http'], host: [HOST], forwarded: [] },
    },
    {
      label: 'a peer inside a trusted CIDR is believed',
      trusted: ['10.0.0.0/8', '127.0.0.0/8'],
      want: {
        xff: ['203.0.113.7, 127.0.0.1'],
        proto: ['https'],
        host: ['evil.example'],
        forwarded: ['for=203.0.113.7;proto=https;host=evil.example'],
      },
    },
    {
      label: 'a single trusted address',
      trusted: ['127.0.0.1'],
      want: {
        xff: ['203.0.113.7, 127.0.0.1'],
        proto: ['https'],
        host: ['evil.example'],
        forwarded: ['for=203.0.113.7;proto=https;host=evil.example'],
      },
    },
  ];
  for (const row of rows) {
    it(row.label, async () => {
      const h = track(await startHostile(row.trusted === undefined ? {} : { trustedProxies: row.trusted }));
      const out = await rawExchange(h.port, `GET /f HTTP/1.1\r\nHost: ${HOST}\r\n${CLAIMS}\r\n`);
      expect(out.responses.map((r) => r.status)).toEqual([200]);
      await h.expectOnly([{ method: 'GET', target: '/f', host: HOST }]);
      expect(forwarding(h.backend.seen[0])).toEqual(row.want);
    });
  }

  it('a trusted proxy that sends no X-Forwarded-Proto/-Host gets this hop’s', async () => {
    const h = track(await startHostile({ trustedProxies: ['127.0.0.0/8'] }));
    await rawExchange(h.port, `GET /f HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    await h.expectOnly([{ method: 'GET', target: '/f', host: HOST }]);
    expect(forwarding(h.backend.seen[0])).toEqual({
      xff: ['127.0.0.1'],
      proto: ['http'],
      host: [HOST],
      forwarded: [],
    });
  });

  it('keep-alive requests from one peer are judged alike (the cached answer)', async () => {
    const h = track(await startHostile({ trustedProxies: ['127.0.0.1/32'] }));
    const req = `GET /k HTTP/1.1\r\nHost: ${HOST}\r\nX-Forwarded-Proto: https\r\n\r\n`;
    const out = await rawExchange(h.port, req + req, { expect: 2 });
    expect(out.responses.map((r) => r.status)).toEqual([200, 200]);
    expect(h.backend.seen.map((r) => r.all('x-forwarded-proto'))).toEqual([['https'], ['https']]);
  });
});

describe('ProxyTrust', () => {
  it('matches IPv4 CIDRs for IPv4-mapped IPv6 peers, and IPv6 CIDRs', () => {
    const t = new ProxyTrust(['10.0.0.0/8', 'fd00::/8']);
    expect(
      ['10.1.2.3', '::ffff:10.1.2.3', 'fd00::1', '11.0.0.1', '::1', undefined].map((a) => t.trusts(a)),
    ).toEqual([true, true, true, false, false, false]);
  });

  it('trusts nobody without CIDRs', () => {
    expect(new ProxyTrust([]).trusts('127.0.0.1')).toBe(false);
  });

  const bad: [string, string][] = [
    ['10.0.0.0/33', 'prefix length must be 0-32'],
    ['::/129', 'prefix length must be 0-128'],
    ['10.0.0.0/', 'prefix length'],
    ['10.0.0.0/x', 'prefix length'],
    ['ingress', 'not an IP address or CIDR'],
    ['10.0.0/8', 'not an IP address or CIDR'],
  ];
  for (const [entry, problem] of bad) {
    it(`refuses ${JSON.stringify(entry)} naming it`, () => {
      expect(() => new ProxyTrust([entry])).toThrow(problem);
      expect(parseTrustedProxies(`127.0.0.1, ${entry}`)).toEqual({
        problem: expect.stringContaining(JSON.stringify(entry)),
      });
    });
  }

  it('parses a comma-separated list, spaces and empty entries ignored', () => {
    expect(parseTrustedProxies(' 10.0.0.0/8, ,::1 ')).toEqual(['10.0.0.0/8', '::1']);
  });
});
