import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ProxyTrust } from '../../src/activator/forwarded.ts';
import { requestHeaders, responseHeaders, switchingProtocolsHead } from '../../src/activator/headers.ts';

const incoming = (rawHeaders: string[], remoteAddress = '10.0.0.9'): IncomingMessage =>
  ({ rawHeaders, socket: { remoteAddress } }) as unknown as IncomingMessage;

const pairs = (flat: readonly string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
};

describe('requestHeaders', () => {
  const rows: {
    label: string;
    raw: string[];
    upgrade?: boolean;
    /** The Host to send and the authority the client named (default a.test for both). */
    host?: string;
    authority?: string;
    /** CIDRs of trusted proxies (the client is 10.0.0.9); default none. */
    trusted?: string[];
    want: [string, string][];
    hasBody: boolean;
  }[] = [
    {
      label: 'plain GET: Host kept, X-Forwarded-* added',
      raw: ['Host', 'a.test', 'Accept', '*/*'],
      want: [
        ['Host', 'a.test'],
        ['Accept', '*/*'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
      ],
      hasBody: false,
    },
    {
      label: 'hop-by-hop removed, also those named in Connection, in any case',
      raw: [
        'host',
        'a.test',
        'Connection',
        'keep-alive, X-Secret',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Trailer',
        'x',
        'Proxy-Authorization',
        'Basic x',
        'Proxy-Connection',
        'keep-alive',
        'Upgrade',
        'websocket',
        'x-secret',
        'hidden',
        'Expect',
        '100-continue',
        'X-Kept',
        '1',
      ],
      want: [
        ['host', 'a.test'],
        ['X-Kept', '1'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
      ],
      hasBody: false,
    },
    {
      label: 'X-Forwarded-For appended (all lines joined), proto and host from a trusted ingress kept',
      trusted: ['10.0.0.0/8'],
      raw: [
        'Host',
        'a.test',
        'X-Forwarded-For',
        '1.1.1.1',
        'x-forwarded-for',
        '2.2.2.2',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'public.example',
      ],
      want: [
        ['Host', 'a.test'],
        ['X-Forwarded-Proto', 'https'],
        ['X-Forwarded-Host', 'public.example'],
        ['x-forwarded-for', '1.1.1.1, 2.2.2.2, 10.0.0.9'],
      ],
      hasBody: false,
    },
    {
      label: 'proto, host and Forwarded from an untrusted client replaced by this hop’s (changed: were kept)',
      trusted: ['192.168.0.0/16'],
      raw: [
        'Host',
        'a.test',
        'X-Forwarded-Proto',
        'https',
        'X-Forwarded-Host',
        'evil.example',
        'Forwarded',
        'for=1.2.3.4;proto=https',
      ],
      want: [
        ['Host', 'a.test'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
      ],
      hasBody: false,
    },
    {
      label: 'Forwarded from a trusted proxy kept',
      trusted: ['10.0.0.9'],
      raw: ['Host', 'a.test', 'Forwarded', 'for=1.2.3.4;proto=https'],
      want: [
        ['Host', 'a.test'],
        ['Forwarded', 'for=1.2.3.4;proto=https'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
      ],
      hasBody: false,
    },
    {
      label: 'Connection naming framing and Host removes neither (new)',
      raw: ['Host', 'a.test', 'Connection', 'content-length, host, transfer-encoding', 'Content-Length', '5'],
      want: [
        ['Host', 'a.test'],
        ['Content-Length', '5'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
      ],
      hasBody: true,
    },
    {
      label: 'absolute-form: the target authority replaces Host in place (new)',
      host: 'b.test:8080',
      authority: 'b.test:8080',
      raw: ['host', 'a.test', 'Accept', '*/*'],
      want: [
        ['host', 'b.test:8080'],
        ['Accept', '*/*'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'b.test:8080'],
      ],
      hasBody: false,
    },
    {
      label: 'no Host from the client: the given one appended, no X-Forwarded-Host (new)',
      host: 'app.shop.svc',
      authority: '',
      raw: ['Accept', '*/*'],
      want: [
        ['Accept', '*/*'],
        ['host', 'app.shop.svc'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
      ],
      hasBody: false,
    },
    {
      label: 'sized body: Content-Length kept',
      raw: ['Host', 'a.test', 'Content-Length', '5'],
      want: [
        ['Host', 'a.test'],
        ['Content-Length', '5'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
      ],
      hasBody: true,
    },
    {
      label: 'chunked body: re-framed as chunked on this hop',
      raw: ['Host', 'a.test', 'Transfer-Encoding', 'chunked'],
      want: [
        ['Host', 'a.test'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
        ['transfer-encoding', 'chunked'],
      ],
      hasBody: true,
    },
    {
      label: 'Content-Length 0 is no body',
      raw: ['Host', 'a.test', 'Content-Length', '0'],
      want: [
        ['Host', 'a.test'],
        ['Content-Length', '0'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
      ],
      hasBody: false,
    },
    {
      label: 'upgrade keeps Upgrade and says Connection: upgrade',
      raw: ['Host', 'a.test', 'Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'],
      upgrade: true,
      want: [
        ['Host', 'a.test'],
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Key', 'k'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
        ['connection', 'upgrade'],
      ],
      hasBody: false,
    },
    {
      label: 'upgrade sends no framing: no body follows the head (new)',
      raw: ['Host', 'a.test', 'Content-Length', '0', 'Upgrade', 'websocket'],
      upgrade: true,
      want: [
        ['Host', 'a.test'],
        ['Upgrade', 'websocket'],
        ['x-forwarded-for', '10.0.0.9'],
        ['x-forwarded-proto', 'http'],
        ['x-forwarded-host', 'a.test'],
        ['connection', 'upgrade'],
      ],
      hasBody: false,
    },
  ];
  for (const row of rows) {
    it(row.label, () => {
      const got = requestHeaders(
        incoming(row.raw),
        row.upgrade ?? false,
        row.host ?? 'a.test',
        row.authority ?? 'a.test',
        new ProxyTrust(row.trusted ?? []),
      );
      expect({ headers: pairs(got.headers), hasBody: got.hasBody }).toEqual({
        headers: row.want,
        hasBody: row.hasBody,
      });
    });
  }
});

describe('responseHeaders', () => {
  const rows: { label: string; raw: string[]; close: boolean; want: [string, string][] }[] = [
    {
      label: 'hop-by-hop removed, end-to-end kept; Content-Length stays though Connection names it',
      raw: [
        'Content-Type',
        'text/plain',
        'Connection',
        'keep-alive, X-Internal, Content-Length',
        'Content-Length',
        '3',
        'Keep-Alive',
        'timeout=5',
        'Transfer-Encoding',
        'chunked',
        'Proxy-Authenticate',
        'Basic',
        'Trailer',
        'Expires',
        'X-Internal',
        '1',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
      ],
      close: false,
      want: [
        ['Content-Type', 'text/plain'],
        ['Content-Length', '3'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ],
    },
    {
      label: 'draining adds Connection: close',
      raw: ['Content-Length', '2'],
      close: true,
      want: [
        ['Content-Length', '2'],
        ['connection', 'close'],
      ],
    },
  ];
  for (const row of rows) {
    it(row.label, () => expect(pairs(responseHeaders(row.raw, row.close))).toEqual(row.want));
  }
});

it('switchingProtocolsHead relays the 101 with Upgrade and Connection', () => {
  expect(
    switchingProtocolsHead('Switching Protocols', [
      'Upgrade',
      'websocket',
      'Connection',
      'Upgrade',
      'Sec-WebSocket-Accept',
      'abc',
      'Keep-Alive',
      'x',
    ]),
  ).toBe(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: abc\r\n\r\n',
  );
});
