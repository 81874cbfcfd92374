import { describe, expect, it } from 'vitest';
import { buildRoutingTable, noRouteMessage, pathHasPrefix } from '../../src/activator/routes.ts';
import { normalizeHost, type RouteSpec } from '../../src/routing/routes.ts';
import { routeSpec } from './helpers.ts';

const entry = (name: string, hosts: string[], pathPrefixes: string[] = ['/']): { spec: RouteSpec } => ({
  spec: routeSpec(name, { hosts, pathPrefixes }),
});

describe('routing table', () => {
  const { table, conflicts } = buildRoutingTable([
    entry('exact', ['api.example.com']),
    entry('v2', ['api.example.com'], ['/v2']),
    entry('v2-admin', ['api.example.com'], ['/v2/admin/']),
    entry('wild', ['*.example.com']),
    entry('deep-wild', ['*.eu.example.com']),
    entry('other', ['Other.Example.org.'], ['/only']),
    entry('any', ['*'], ['/fallback']),
  ]);

  const rows: { label: string; host: string; url: string; want: string | undefined }[] = [
    { label: 'exact host, root prefix', host: 'api.example.com', url: '/x', want: 'exact' },
    { label: 'longest prefix wins', host: 'api.example.com', url: '/v2/items', want: 'v2' },
    { label: 'prefix equal to the path', host: 'api.example.com', url: '/v2', want: 'v2' },
    { label: 'prefix before a query', host: 'api.example.com', url: '/v2?x=1', want: 'v2' },
    { label: 'prefix only on a segment boundary', host: 'api.example.com', url: '/v2x', want: 'exact' },
    { label: 'prefix ending in a slash', host: 'api.example.com', url: '/v2/admin/users', want: 'v2-admin' },
    { label: 'wildcard, one label', host: 'shop.example.com', url: '/', want: 'wild' },
    { label: 'wildcard, two labels', host: 'a.b.example.com', url: '/', want: 'wild' },
    { label: 'longest wildcard suffix first', host: 'fr.eu.example.com', url: '/', want: 'deep-wild' },
    { label: 'wildcard never matches its apex', host: 'example.com', url: '/', want: undefined },
    { label: 'host normalized (case, port, dot)', host: 'other.example.org', url: '/only/x', want: 'other' },
    {
      label: 'host matched, no prefix, nothing less specific',
      host: 'other.example.org',
      url: '/else',
      want: undefined,
    },
    { label: 'any host, its prefix', host: 'unknown.net', url: '/fallback/1', want: 'any' },
    { label: 'any host, other path', host: 'unknown.net', url: '/', want: undefined },
    {
      label: 'exact misses on path, falls to the catch-all',
      host: 'other.example.org',
      url: '/fallback',
      want: 'any',
    },
  ];
  for (const row of rows) {
    it(row.label, () => {
      expect(table.lookup(normalizeHost(row.host), row.url, [])?.spec.service).toBe(row.want);
    });
  }

  it('has no conflicts', () => {
    expect(conflicts).toEqual([]);
  });
});

describe('falls through to a less specific host when no prefix matches', () => {
  it('exact host without the path → wildcard', () => {
    const { table } = buildRoutingTable([
      entry('exact', ['api.example.com'], ['/v1']),
      entry('wild', ['*.example.com']),
    ]);
    expect(table.lookup('api.example.com', '/v1/a', [])?.spec.service).toBe('exact');
    expect(table.lookup('api.example.com', '/v2/a', [])?.spec.service).toBe('wild');
  });
});

describe('conflicts', () => {
  it('the key that sorts first keeps a host + prefix claimed twice, and the clash is reported', () => {
    const { table, conflicts } = buildRoutingTable([
      entry('b', ['api.example.com'], ['/', '/b']),
      entry('a', ['API.example.com'], ['/']),
    ]);
    expect(table.lookup('api.example.com', '/', [])?.spec.key).toBe('shop/a');
    expect(table.lookup('api.example.com', '/b', [])?.spec.key).toBe('shop/b');
    expect(conflicts).toEqual([
      {
        host: 'api.example.com',
        pathPrefix: '/',
        headers: '',
        kept: 'shop/a',
        dropped: 'shop/b',
        message: 'host api.example.com path prefix / is claimed by shop/a and shop/b; shop/a keeps it',
      },
    ]);
  });
});

describe('normalizeHost', () => {
  const rows: [string, string][] = [
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['[::1]:80', '[::1]'],
    ['', ''],
  ];
  for (const [raw, want] of rows)
    it(`${JSON.stringify(raw)} → ${want}`, () => expect(normalizeHost(raw)).toBe(want));
});

describe('pathHasPrefix', () => {
  const rows: [string, string, boolean][] = [
    ['/', '/', true],
    ['/anything', '/', true],
    ['/api', '/api', true],
    ['/api/', '/api', true],
    ['/api?q', '/api', true],
    ['/apix', '/api', false],
    ['/ap', '/api', false],
  ];
  for (const [url, prefix, want] of rows)
    it(`${url} under ${prefix}: ${want}`, () => expect(pathHasPrefix(url, prefix)).toBe(want));
});

it('the 404 body names the host and the path', () => {
  expect(noRouteMessage('nope.test', '/a')).toBe('no route matches host "nope.test" path "/a"\n');
});
