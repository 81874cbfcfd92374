// Routing on headers (issue 14, scope 4): the table's precedence (host, then path prefix, then
// the number of header matches, then the key; Gateway API's HTTPRoute order), its conflicts, a
// property test against a brute-force oracle, and one request through a real activator.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRoutingTable, headersHold, pathHasPrefix } from '../../src/activator/routes.ts';
import type { HeaderMatch } from '../../src/routing/header-matches.ts';
import { compareRouteKeys, type RouteSpec } from '../../src/routing/routes.ts';
import { call, closeAfterEach, routeSpec, startActivator, startBackend } from './helpers.ts';

const entry = (
  name: string,
  hosts: string[],
  pathPrefixes: string[],
  headers: HeaderMatch[] = [],
): { spec: RouteSpec } => ({ spec: routeSpec(name, { hosts, pathPrefixes, headers }) });

const raw = (...pairs: [string, string][]): string[] => pairs.flat();

describe('header matches in the routing table', () => {
  const { table, conflicts } = buildRoutingTable([
    entry('main', ['api.example.com'], ['/']),
    entry('acme', ['api.example.com'], ['/'], [{ name: 'x-tenant', value: 'acme' }]),
    entry(
      'acme-canary',
      ['api.example.com'],
      ['/'],
      [
        { name: 'x-canary', value: 'true' },
        { name: 'x-tenant', value: 'acme' },
      ],
    ),
    entry('beta', ['api.example.com'], ['/'], [{ name: 'x-beta' }]),
    entry('zz-debug', ['api.example.com'], ['/'], [{ name: 'x-debug' }]),
    entry('v2', ['api.example.com'], ['/v2']),
    entry('wild-acme', ['*.example.com'], ['/'], [{ name: 'x-tenant', value: 'acme' }]),
    entry('only-acme', ['shop.example.com'], ['/'], [{ name: 'x-tenant', value: 'acme' }]),
  ]);
  const rows: { label: string; host?: string; url?: string; headers: string[]; want: string | undefined }[] =
    [
      { label: 'no header: the route without matches', headers: [], want: 'main' },
      { label: 'an exact value', headers: raw(['X-Tenant', 'acme']), want: 'acme' },
      { label: 'the value is case-sensitive', headers: raw(['x-tenant', 'ACME']), want: 'main' },
      {
        label: 'more matches win',
        headers: raw(['x-tenant', 'acme'], ['x-canary', 'true']),
        want: 'acme-canary',
      },
      {
        label: 'one of two matches is not enough',
        headers: raw(['x-canary', 'true']),
        want: 'main',
      },
      { label: 'presence, any value', headers: raw(['x-beta', 'whatever']), want: 'beta' },
      { label: 'presence, empty value', headers: raw(['x-beta', '']), want: 'beta' },
      {
        label: 'equal counts: the key that sorts first',
        headers: raw(['x-debug', '1'], ['x-beta', '1']),
        want: 'beta',
      },
      {
        label: 'a repeated field is combined (RFC 9110 §5.3): "acme, acme" is not "acme"',
        headers: raw(['x-tenant', 'acme'], ['x-tenant', 'acme']),
        want: 'main',
      },
      {
        label: 'the path prefix comes before the headers',
        url: '/v2/x',
        headers: raw(['x-tenant', 'acme']),
        want: 'v2',
      },
      {
        label: 'an exact host whose header match fails falls to the wildcard',
        host: 'shop.example.com',
        headers: raw(['x-tenant', 'acme']),
        want: 'only-acme',
      },
      {
        label: 'wildcard with its header',
        host: 'other.example.com',
        headers: raw(['x-tenant', 'acme']),
        want: 'wild-acme',
      },
      {
        label: 'wildcard without its header: no route',
        host: 'other.example.com',
        headers: [],
        want: undefined,
      },
    ];
  for (const row of rows)
    it(row.label, () => {
      const hit = table.lookup(row.host ?? 'api.example.com', row.url ?? '/', row.headers);
      expect(hit?.spec.service).toBe(row.want);
    });

  it('routes that differ in their header matches do not conflict', () => {
    expect(conflicts).toEqual([]);
  });

  it('the same host, prefix and header matches (in any order) conflict, and the clash names the headers', () => {
    const built = buildRoutingTable([
      entry('b', ['api.example.com'], ['/'], [{ name: 'x-a', value: '1' }, { name: 'x-b' }]),
      entry('a', ['api.example.com'], ['/'], [{ name: 'x-b' }, { name: 'x-a', value: '1' }]),
    ]);
    expect(built.conflicts).toEqual([
      {
        host: 'api.example.com',
        pathPrefix: '/',
        headers: 'x-a=1,x-b',
        kept: 'shop/a',
        dropped: 'shop/b',
        message:
          'host api.example.com path prefix / headers x-a=1,x-b is claimed by shop/a and shop/b; shop/a keeps it',
      },
    ]);
    expect(built.table.lookup('api.example.com', '/', raw(['x-a', '1'], ['x-b', '']))?.spec.key).toBe(
      'shop/a',
    );
  });
});

// ---- property: the chosen route is the most specific match, whatever the insertion order ----

const HOSTS = ['a.example.com', '*.example.com', '*'];
const PREFIXES = ['/', '/api', '/api/v1', '/b'];
const NAMES = ['x-tenant', 'x-canary'];
const VALUES = ['acme', 'beta', ''];

const headerMatchArb: fc.Arbitrary<HeaderMatch[]> = fc
  .subarray(NAMES)
  .chain((names) =>
    fc
      .tuple(...names.map(() => fc.option(fc.constantFrom('acme', 'beta'), { nil: undefined })))
      .map((vals) =>
        names.map((name, i) => (vals[i] === undefined ? { name } : { name, value: vals[i] as string })),
      ),
  );

const routesArb = fc
  .array(
    fc.record({
      hosts: fc.subarray(HOSTS, { minLength: 1 }),
      prefixes: fc.subarray(PREFIXES, { minLength: 1 }),
      headers: headerMatchArb,
    }),
    { minLength: 1, maxLength: 8 },
  )
  .map((rs) => rs.map((r, i) => entry(`r${i}`, r.hosts, r.prefixes, r.headers)));

const requestArb = fc.record({
  host: fc.constantFrom('a.example.com', 'b.example.com', 'x.a.example.com', 'example.com', 'other.net'),
  url: fc.constantFrom('/', '/api', '/api/v1/x', '/api?q=1', '/b', '/bx', '/apix'),
  headers: fc.array(
    fc.tuple(
      fc.constantFrom('x-tenant', 'X-Tenant', 'x-canary', 'X-CANARY', 'x-other'),
      fc.constantFrom(...VALUES),
    ),
    { maxLength: 4 },
  ),
});

/** Host specificity as a pair compared in order: exact, then longer `*.` suffixes, then `*`. */
const hostRank = (pattern: string, host: string): [number, number] | undefined => {
  if (pattern === '*') return [0, 0];
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1); // `.example.com`
    return host.endsWith(suffix) && host.length > suffix.length ? [1, suffix.length] : undefined;
  }
  return pattern === host ? [2, 0] : undefined;
};

/** An independent reading of the header rule: names folded, repeated fields joined by ", ". */
const oracleHeaders = (matches: readonly HeaderMatch[], pairs: readonly [string, string][]): boolean => {
  const fields = new Map<string, string>();
  for (const [n, v] of pairs) {
    const k = n.toLowerCase();
    const seen = fields.get(k);
    fields.set(k, seen === undefined ? v : `${seen}, ${v}`);
  }
  return matches.every(
    (m) => fields.has(m.name) && (m.value === undefined || fields.get(m.name) === m.value),
  );
};

/** The most specific matching claim over all routes: host, prefix length, header count, key. */
const oracle = (
  routes: readonly { spec: RouteSpec }[],
  req: { host: string; url: string; headers: [string, string][] },
): string | undefined => {
  let best: { rank: number[]; key: string } | undefined;
  for (const { spec } of routes) {
    const headers = spec.headers ?? [];
    if (!oracleHeaders(headers, req.headers)) continue;
    for (const h of spec.hosts) {
      const hr = hostRank(h, req.host);
      if (hr === undefined) continue;
      for (const p of spec.pathPrefixes) {
        if (!pathHasPrefix(req.url, p)) continue;
        const rank = [...hr, p.length, headers.length];
        const better =
          best === undefined ||
          compareRanks(rank, best.rank) > 0 ||
          (compareRanks(rank, best.rank) === 0 && compareRouteKeys(spec.key, best.key) < 0);
        if (better) best = { rank, key: spec.key };
      }
    }
  }
  return best?.key;
};

const compareRanks = (a: number[], b: number[]): number => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
};

describe('property', () => {
  it('the chosen route is the most specific match, independent of insertion order', () => {
    fc.assert(
      fc.property(
        routesArb.chain((routes) =>
          fc.tuple(
            fc.constant(routes),
            fc.shuffledSubarray(routes, { minLength: routes.length }),
            requestArb,
          ),
        ),
        ([routes, shuffled, req]) => {
          const rawHeaders = req.headers.flat();
          const want = oracle(routes, req);
          expect(buildRoutingTable(routes).table.lookup(req.host, req.url, rawHeaders)?.spec.key).toBe(want);
          expect(buildRoutingTable(shuffled).table.lookup(req.host, req.url, rawHeaders)?.spec.key).toBe(
            want,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('headersHold: a match list holds iff every match holds alone', () => {
    fc.assert(
      fc.property(headerMatchArb, requestArb, (matches, req) => {
        const rawHeaders = req.headers.flat();
        expect(headersHold(matches, rawHeaders)).toBe(oracleHeaders(matches, req.headers));
        expect(headersHold(matches, rawHeaders)).toBe(matches.every((m) => headersHold([m], rawHeaders)));
      }),
    );
  });
});

// ---- through a real activator: a canary header reaches the canary's backend ----

describe('over a socket', () => {
  const track = closeAfterEach();

  it('routes on the header to another Service, and without it to the main one', async () => {
    const main = track(await startBackend((_req, res) => res.end('main')));
    const canary = track(await startBackend((_req, res) => res.end('canary')));
    const a = track(
      await startActivator([
        routeSpec('shop', { hosts: ['shop.test'] }),
        routeSpec('shop-canary', { hosts: ['shop.test'], headers: [{ name: 'x-canary', value: 'true' }] }),
      ]),
    );
    a.source.set('shop/shop:80', [main.endpoint]);
    a.source.set('shop/shop-canary:80', [canary.endpoint]);
    expect((await call(a.port, 'shop.test', '/')).body).toBe('main');
    expect((await call(a.port, 'shop.test', '/', { headers: { 'X-Canary': 'true' } })).body).toBe('canary');
    expect((await call(a.port, 'shop.test', '/', { headers: { 'x-canary': 'false' } })).body).toBe('main');
    // The header is end-to-end: the canary receives it as sent.
    expect(canary.seen[0]?.headers['x-canary']).toBe('true');
    expect(a.routeStats('shop/shop-canary').requests).toBe(1);
    expect(a.routeStats('shop/shop').requests).toBe(2);
  });
});
