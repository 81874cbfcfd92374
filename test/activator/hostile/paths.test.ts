// Path normalisation (src/activator/paths.ts): the table of what is forwarded or refused, then
// raw requests through a real activator whose only route is the prefix /api, so a path that
// would match /api before normalisation and does not after is visible as a 404.
import { describe, expect, it, vi } from 'vitest';
import { normalizeTarget } from '../../../src/activator/paths.ts';
import { closeAfterEach } from '../helpers.ts';
import { expectRefused, HOST, rawExchange, startHostile } from './harness.ts';

vi.setConfig({ testTimeout: 30_000 });
const track = closeAfterEach();

/** [target, what is forwarded or the refusal's reason] */
const ROWS: [string, string][] = [
  ['/', '/'],
  ['/api/users?id=1', '/api/users?id=1'],
  ['/.well-known/acme', '/.well-known/acme'],
  ['/a/.b/..c', '/a/.b/..c'],
  ['/a/./b/../c', '/a/c'],
  ['/a/b/c/./../../g', '/a/g'],
  ['/a/..', '/'],
  ['/a/.', '/a/'],
  ['/a/./', '/a/'],
  ['/a//b///c/', '/a/b/c/'],
  ['//', '/'],
  ['/a//../b', '/b'],
  ['/%61%62%2Dc%7E', '/ab-c~'],
  ['/%2e%2E/../x', 'InvalidPath'],
  ['/api/%2e%2e/admin', '/admin'],
  ['/api/.%2E/admin', '/admin'],
  ['/api/%2E/x', '/api/x'],
  ['/a%2fb', '/a%2Fb'],
  ['/a%2Fb/../c', '/c'],
  ['/a/%2E%2E%2Fb', '/a/..%2Fb'],
  ['/a%5cb', '/a%5Cb'],
  ['/caf%c3%a9', '/caf%C3%A9'],
  ['/a%20b', '/a%20b'],
  ['/a/b?x=/../y&z=%2e', '/a/b?x=/../y&z=%2e'],
  ['/a/../b?x=%zz', '/b?x=%zz'],
  ['/..', 'InvalidPath'],
  ['/../a', 'InvalidPath'],
  ['/a/../..', 'InvalidPath'],
  ['/%2e%2e', 'InvalidPath'],
  ['/a%zz', 'InvalidPath'],
  ['/a%4', 'InvalidPath'],
  ['/a%', 'InvalidPath'],
  ['/a%4?x', 'InvalidPath'],
  ['/a\\b', 'InvalidPath'],
  ['/a\\..\\b', 'InvalidPath'],
  ['/a#b', 'InvalidRequestTarget'],
  ['/a?b#c', 'InvalidRequestTarget'],
  ['/a/../b#c', 'InvalidRequestTarget'],
];

describe('normalizeTarget', () => {
  for (const [target, want] of ROWS) {
    it(`${target} → ${want}`, () => {
      const got = normalizeTarget(target);
      expect(typeof got === 'string' ? got : got.reason).toBe(want);
    });
  }

  it('returns the very string it got when the path is already normal (no allocation)', () => {
    const target = ['/api', 'users', '42?q=1'].join('/');
    expect(normalizeTarget(target)).toBe(target);
  });
});

describe('routes match the normalised path, and it is what the endpoint receives', () => {
  const cases: { path: string; status: number; forwarded?: string; reason?: string; shown?: string }[] = [
    { path: '/api/x/../y', status: 200, forwarded: '/api/y' },
    { path: '/api//v1', status: 200, forwarded: '/api/v1' },
    { path: '/%61pi/z', status: 200, forwarded: '/api/z' },
    { path: '/x/../api', status: 200, forwarded: '/api' },
    { path: '/api/../admin', status: 404, reason: 'NoRoute' },
    { path: '/api/%2e%2e/admin', status: 404, reason: 'NoRoute' },
    { path: '/api/%2E%2e/admin', status: 404, reason: 'NoRoute' },
    { path: '/api/.%2e/admin', status: 404, reason: 'NoRoute' },
    { path: '/api//../admin', status: 404, reason: 'NoRoute' },
    { path: '/api%2f..%2fadmin', status: 404, reason: 'NoRoute', shown: '/api%2F..%2Fadmin' },
    { path: '/api/../../etc/passwd', status: 400, reason: 'InvalidPath' },
    { path: '/api\\..\\admin', status: 400, reason: 'InvalidPath' },
  ];
  for (const c of cases) {
    it(`${c.path} → ${c.status}${c.forwarded === undefined ? ` ${c.reason}` : ` ${c.forwarded}`}`, async () => {
      const h = track(await startHostile({ pathPrefixes: ['/api'] }));
      const out = await rawExchange(h.port, `GET ${c.path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
      if (c.status === 400) expectRefused(out, 400, c.reason ?? '', 'path');
      else {
        expect(out.responses.map((r) => [r.status, r.get('x-ebb-reason')])).toEqual([[c.status, c.reason]]);
        // The 404 names the path as matched: the normalised one.
        if (c.status === 404) expect(out.responses[0]?.body).toContain(`path "${c.shown ?? '/admin'}"`);
      }
      await h.expectOnly(
        c.forwarded === undefined ? [] : [{ method: 'GET', target: c.forwarded, host: HOST }],
      );
    });
  }

  it('a health path is recognised after normalisation (forwarded, never counted)', async () => {
    const h = track(await startHostile({ healthPaths: ['/healthz'] }));
    const out = await rawExchange(h.port, `GET /a/..//healthz HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    expect(out.responses.map((r) => r.body)).toEqual(['seen GET /healthz']);
    expect(h.activator.stats().routes.map((r) => r.requests)).toEqual([0]);
    await h.expectOnly([{ method: 'GET', target: '/healthz', host: HOST }]);
  });
});
