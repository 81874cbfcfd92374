import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
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
      label: 'X-Forwarded-For appended (all lines joined), proto and host from the ingress kept',
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
  ];
  for (const row of rows) {
    it(row.label, () => {
      const got = requestHeaders(incoming(row.raw), row.upgrade ?? false);
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
      label: 'hop-by-hop removed, end-to-end kept',
      raw: [
        'Content-Type',
        'text/plain',
        'Connection',
        'keep-alive, X-Internal',
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
