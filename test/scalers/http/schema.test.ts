import { describe, expect, it } from 'vitest';
import { httpScaler } from '../../../scalers/http/index.ts';
import { checkTriggers, resolveTrigger, SUPPORTED_TRIGGER_TYPES } from '../../../scalers/index.ts';
import { parseCoarseDuration } from '../../../scalers/kit/metadata.ts';
import type { Trigger } from '../../../src/api/scaledobject.ts';
import { type HttpConfig, httpRouteKey, parseHttpMetadata } from '../../../src/routing/http-trigger.ts';
import type { TriggerContext } from '../../../src/scaler.ts';

const ctx = (metadata: Record<string, string>, index = 0, extra: Partial<Trigger> = {}): TriggerContext => ({
  index,
  trigger: { type: 'http', metadata, ...extra },
  authParams: {},
});

const base = { hosts: 'shop.example.com', service: 'shop', port: '8080' };

// ---- metadata table: { metadata, error? } where error = [metadata key, message pattern] ----

const metadataCases: Array<{ label: string; metadata: Record<string, string>; error?: [string, RegExp] }> = [
  { label: 'hosts, service and port only', metadata: base },
  {
    label: 'every key',
    metadata: {
      ...base,
      hosts: 'shop.example.com, *.shop.example.com',
      pathPrefixes: '/api,/static',
      port: 'http',
      targetConcurrency: '20',
      containerConcurrency: '25',
      holdTimeout: '1m30s',
      maxHeldRequests: '5000',
      healthPaths: '/healthz,/readyz',
      allowedUpgrades: 'websocket, mqtt',
      upgradeIdleTimeout: '10m',
      requestBodyTimeout: '30s',
      responseTimeout: '2m',
    },
  },
  { label: 'request rate with a window', metadata: { ...base, targetRequestRate: '50', window: '30s' } },
  { label: 'request rate without a window', metadata: { ...base, targetRequestRate: '0.5' } },
  { label: 'the catch-all host', metadata: { ...base, hosts: '*' } },
  { label: 'upper-case hosts (Host is case-insensitive)', metadata: { ...base, hosts: 'Shop.Example.COM' } },
  { label: 'unknown keys are ignored', metadata: { ...base, somethingElse: 'x' } },
  {
    label: 'header matches: a value, presence, spaces inside a value',
    metadata: { ...base, headers: 'x-tenant=acme, X-Canary ,x-note=two words' },
  },
  {
    label: 'a header name that is not a token',
    metadata: { ...base, headers: 'x tenant=acme' },
    error: ['headers', /is not a header name \(an RFC 9110 token/],
  },
  {
    label: 'a header with "=" and no value',
    metadata: { ...base, headers: 'x-a=' },
    error: ['headers', /no value/],
  },
  {
    label: 'no name before "="',
    metadata: { ...base, headers: '=acme' },
    error: ['headers', /names no header/],
  },
  {
    label: 'a header value with a control character',
    metadata: { ...base, headers: 'x-a=b\u0001c' },
    error: ['headers', /visible ASCII/],
  },
  {
    label: 'a header value beyond ASCII',
    metadata: { ...base, headers: 'x-a=caf\u00e9' },
    error: ['headers', /visible ASCII/],
  },
  {
    label: 'a header listed twice (names are case-insensitive)',
    metadata: { ...base, headers: 'x-a=1,X-A=2' },
    error: ['headers', /lists header "x-a" more than once/],
  },
  {
    label: 'matching on host',
    metadata: { ...base, headers: 'host=a' },
    error: ['headers', /list the host in hosts/],
  },
  {
    label: 'more than 16 header matches',
    metadata: { ...base, headers: Array.from({ length: 17 }, (_, i) => `x-h${i}`).join(',') },
    error: ['headers', /17 headers; at most 16/],
  },
  {
    label: 'a header name above 256 characters',
    metadata: { ...base, headers: `x-${'a'.repeat(255)}` },
    error: ['headers', /longer than 256/],
  },
  {
    label: 'a header value above 4096 characters',
    metadata: { ...base, headers: `x-a=${'v'.repeat(4097)}` },
    error: ['headers', /longer than 4096/],
  },
  {
    label: 'a placeholder with its text and refresh, and the cold-start header',
    metadata: {
      ...base,
      placeholder: 'true',
      placeholderMessage: 'Warming up',
      placeholderRefresh: '5s',
      coldStartHeader: 'true',
    },
  },
  {
    label: 'placeholder not a boolean',
    metadata: { ...base, placeholder: 'yes' },
    error: ['placeholder', /must be "true" or "false"/],
  },
  {
    label: 'a placeholder text without placeholder',
    metadata: { ...base, placeholderMessage: 'hi' },
    error: ['placeholderMessage', /only applies with placeholder/],
  },
  {
    label: 'a placeholder text above 1024 characters',
    metadata: { ...base, placeholder: 'true', placeholderMessage: 'x'.repeat(1025) },
    error: ['placeholderMessage', /1025 characters long; at most 1024/],
  },
  {
    label: 'a placeholder refresh above a minute',
    metadata: { ...base, placeholder: 'true', placeholderRefresh: '2m' },
    error: ['placeholderRefresh', /between 1s and 1m/],
  },
  { label: 'hosts missing', metadata: { service: 'shop', port: '80' }, error: ['hosts', /is required/] },
  { label: 'hosts only commas', metadata: { ...base, hosts: ' , ,' }, error: ['hosts', /is required/] },
  {
    label: 'a host with a port',
    metadata: { ...base, hosts: 'shop.example.com:8080' },
    error: ['hosts', /must not include a port/],
  },
  {
    label: 'a URL instead of a host',
    metadata: { ...base, hosts: 'https://shop.example.com/' },
    error: ['hosts', /host name, not a URL/],
  },
  {
    label: 'a wildcard inside a label',
    metadata: { ...base, hosts: 'shop*.example.com' },
    error: ['hosts', /whole first label/],
  },
  {
    label: 'a wildcard further in',
    metadata: { ...base, hosts: 'a.*.example.com' },
    error: ['hosts', /whole first label/],
  },
  {
    label: 'an underscore',
    metadata: { ...base, hosts: 'my_shop.example.com' },
    error: ['hosts', /label "my_shop"/],
  },
  {
    label: 'an empty label',
    metadata: { ...base, hosts: 'shop..example.com' },
    error: ['hosts', /not a valid DNS name/],
  },
  {
    label: 'a duplicate host (after lowercasing)',
    metadata: { ...base, hosts: 'a.example.com,A.example.com' },
    error: ['hosts', /lists "a.example.com" more than once/],
  },
  {
    label: 'a relative path prefix',
    metadata: { ...base, pathPrefixes: 'api' },
    error: ['pathPrefixes', /must start with "\/"/],
  },
  {
    label: 'a path prefix with a query',
    metadata: { ...base, pathPrefixes: '/api?x=1' },
    error: ['pathPrefixes', /must not contain/],
  },
  {
    label: 'a duplicate path prefix',
    metadata: { ...base, pathPrefixes: '/api,/api' },
    error: ['pathPrefixes', /more than once/],
  },
  {
    label: 'a relative health path',
    metadata: { ...base, healthPaths: 'healthz' },
    error: ['healthPaths', /must start with "\/"/],
  },
  {
    label: 'service missing',
    metadata: { hosts: 'a.example.com', port: '80' },
    error: ['service', /is required/],
  },
  {
    label: 'service not a DNS-1035 label',
    metadata: { ...base, service: 'Shop.v1' },
    error: ['service', /DNS-1035/],
  },
  {
    label: 'port missing',
    metadata: { hosts: 'a.example.com', service: 's' },
    error: ['port', /is required/],
  },
  { label: 'port 0', metadata: { ...base, port: '0' }, error: ['port', /1-65535/] },
  { label: 'port 65536', metadata: { ...base, port: '65536' }, error: ['port', /1-65535/] },
  {
    label: 'port name too long',
    metadata: { ...base, port: 'a-very-long-port-name' },
    error: ['port', /port name/],
  },
  {
    label: 'targetConcurrency 0',
    metadata: { ...base, targetConcurrency: '0' },
    error: ['targetConcurrency', /greater than 0, got "0"/],
  },
  {
    label: 'targetConcurrency not a number',
    metadata: { ...base, targetConcurrency: 'lots' },
    error: ['targetConcurrency', /number greater than 0/],
  },
  {
    label: 'both scaling modes',
    metadata: { ...base, targetConcurrency: '10', targetRequestRate: '5' },
    error: ['targetRequestRate', /cannot be combined with targetConcurrency/],
  },
  {
    label: 'a window without targetRequestRate',
    metadata: { ...base, window: '1m' },
    error: ['window', /only applies with targetRequestRate/],
  },
  {
    label: 'a window without a unit',
    metadata: { ...base, targetRequestRate: '5', window: '60' },
    error: ['window', /duration such as "1m", got "60"/],
  },
  {
    label: 'a window below 1 s',
    metadata: { ...base, targetRequestRate: '5', window: '500ms' },
    error: ['window', /between 1s and 1h/],
  },
  {
    label: 'targetConcurrency above containerConcurrency',
    metadata: { ...base, targetConcurrency: '20', containerConcurrency: '10' },
    error: ['targetConcurrency', /\(20\) must be <= containerConcurrency \(10\)/],
  },
  {
    label: 'containerConcurrency negative',
    metadata: { ...base, containerConcurrency: '-1' },
    error: ['containerConcurrency', /integer >= 0, got "-1"/],
  },
  {
    label: 'containerConcurrency fractional',
    metadata: { ...base, containerConcurrency: '1.5' },
    error: ['containerConcurrency', /integer/],
  },
  {
    label: 'holdTimeout 0',
    metadata: { ...base, holdTimeout: '0s' },
    error: ['holdTimeout', /between 1ms and 1h/],
  },
  {
    label: 'holdTimeout over an hour',
    metadata: { ...base, holdTimeout: '2h' },
    error: ['holdTimeout', /between 1ms and 1h/],
  },
  {
    label: 'holdTimeout as a word',
    metadata: { ...base, holdTimeout: 'soon' },
    error: ['holdTimeout', /duration/],
  },
  {
    label: 'allowedUpgrades lists h2c',
    metadata: { ...base, allowedUpgrades: 'websocket,h2c' },
    error: ['allowedUpgrades', /must not list "h2c"/],
  },
  {
    label: 'allowedUpgrades with a version or a space',
    metadata: { ...base, allowedUpgrades: 'websocket/13, my proto' },
    error: ['allowedUpgrades', /"websocket\/13" is not a protocol name/],
  },
  {
    label: 'upgradeIdleTimeout over a day',
    metadata: { ...base, upgradeIdleTimeout: '25h' },
    error: ['upgradeIdleTimeout', /between 0s and 24h/],
  },
  {
    label: 'requestBodyTimeout without a unit',
    metadata: { ...base, requestBodyTimeout: '60' },
    error: ['requestBodyTimeout', /duration such as "60s"/],
  },
  {
    label: 'responseTimeout over an hour',
    metadata: { ...base, responseTimeout: '90m' },
    error: ['responseTimeout', /between 0s and 1h/],
  },
  {
    label: 'maxHeldRequests 0',
    metadata: { ...base, maxHeldRequests: '0' },
    error: ['maxHeldRequests', /integer >= 1, got "0"/],
  },
  {
    label: 'activationThreshold is refused, not ignored',
    metadata: { ...base, activationThreshold: '5' },
    error: ['activationThreshold', /not supported .* a held request is never left waiting/],
  },
];

describe('http metadata', () => {
  it.each(metadataCases.map((c) => [c.label, c] as const))('%s', (_label, c) => {
    const result = parseHttpMetadata(ctx(c.metadata, 2));
    if (c.error === undefined) {
      expect(result.ok ? [] : result.error).toEqual([]);
      return;
    }
    expect(result.ok, 'expected a problem').toBe(false);
    if (result.ok) return;
    const [key, pattern] = c.error;
    const problem = result.error.find((p) => p.path === `spec.triggers[2].metadata.${key}`);
    expect(problem, `problems: ${JSON.stringify(result.error)}`).toBeDefined();
    expect(problem?.reason).toBe('InvalidTriggerMetadata');
    expect(problem?.message).toMatch(pattern);
  });

  it('reports every problem between the keys at once', () => {
    const second = parseHttpMetadata(ctx({ hosts: 'a:1', port: '0' }));
    expect(second.ok ? [] : second.error.map((p) => p.path).sort()).toEqual([
      'spec.triggers[0].metadata.hosts',
      'spec.triggers[0].metadata.port',
      'spec.triggers[0].metadata.service',
    ]);
  });

  const configCases: Array<{ label: string; metadata: Record<string, string>; config: Partial<HttpConfig> }> =
    [
      {
        label: 'defaults',
        metadata: base,
        config: {
          hosts: ['shop.example.com'],
          pathPrefixes: ['/'],
          service: 'shop',
          port: { number: 8080 },
          mode: { kind: 'concurrency', target: 100 },
          containerConcurrency: 0,
          holdTimeoutMs: 60_000,
          maxHeldRequests: 1000,
          healthPaths: [],
        },
      },
      {
        label: 'containerConcurrency lowers the default target to it',
        metadata: { ...base, containerConcurrency: '8' },
        config: { mode: { kind: 'concurrency', target: 8 }, containerConcurrency: 8 },
      },
      {
        label: 'containerConcurrency above 100 keeps the default 100',
        metadata: { ...base, containerConcurrency: '250' },
        config: { mode: { kind: 'concurrency', target: 100 } },
      },
      {
        label: 'request rate, default window 1m',
        metadata: { ...base, targetRequestRate: '12.5' },
        config: { mode: { kind: 'requestRate', target: 12.5, windowMs: 60_000 } },
      },
      {
        label: 'lists are trimmed, hosts lowercased, a named port',
        metadata: {
          ...base,
          hosts: ' A.example.com , *.B.example.com ',
          pathPrefixes: '/v1, /v2',
          port: 'web',
        },
        config: {
          hosts: ['a.example.com', '*.b.example.com'],
          pathPrefixes: ['/v1', '/v2'],
          port: { name: 'web' },
        },
      },
      {
        label: 'empty values count as absent',
        metadata: { ...base, pathPrefixes: ' ', targetConcurrency: '', holdTimeout: '' },
        config: { pathPrefixes: ['/'], mode: { kind: 'concurrency', target: 100 }, holdTimeoutMs: 60_000 },
      },
      {
        label: 'durations',
        metadata: { ...base, holdTimeout: '1.5s' },
        config: { holdTimeoutMs: 1500 },
      },
      {
        label: "the activator's limits for the route; 0s turns one off; upgrade names lower-cased",
        metadata: {
          ...base,
          allowedUpgrades: 'WebSocket, MQTT',
          upgradeIdleTimeout: '0s',
          requestBodyTimeout: '15s',
          responseTimeout: '1m',
        },
        config: {
          allowedUpgrades: ['websocket', 'mqtt'],
          upgradeIdleTimeoutMs: 0,
          requestBodyTimeoutMs: 15_000,
          responseTimeoutMs: 60_000,
        },
      },
    ];
  it.each(configCases.map((c) => [c.label, c] as const))('config: %s', (_label, c) => {
    const result = parseHttpMetadata(ctx(c.metadata));
    expect(result.ok ? result.value : result.error).toMatchObject(c.config);
  });

  it.each([
    ['60s', 60_000],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['1h', 3_600_000],
    ['0.5s', 500],
    ['60', undefined],
    ['-1s', undefined],
    ['1d', undefined],
    ['', undefined],
  ] as const)('parseCoarseDuration(%j) = %j', (text, ms) => {
    expect(parseCoarseDuration(text)).toBe(ms);
  });
});

describe('the http trigger type', () => {
  it('is registered', () => {
    expect(SUPPORTED_TRIGGER_TYPES).toContain('http');
    expect(checkTriggers({ triggers: [{ type: 'http', metadata: base }] })).toEqual([]);
    expect(
      checkTriggers({ triggers: [{ type: 'http', metadata: { hosts: 'a.example.com' } }] }),
    ).toMatchObject([
      { path: 'spec.triggers[0].metadata.service', reason: 'InvalidTriggerMetadata' },
      { path: 'spec.triggers[0].metadata.port', reason: 'InvalidTriggerMetadata' },
    ]);
  });

  it.each([
    ['shop.example.com', 0, 's0-http-shop-example-com'],
    ['*.shop.example.com,shop.example.com', 1, 's1-http-x-shop-example-com'],
    ['*', 3, 's3-http-x'],
  ] as const)('names the metric of hosts %j at index %i %j', (hosts, index, name) => {
    const resolved = resolveTrigger({ type: 'http', metadata: { ...base, hosts } }, index);
    expect(resolved.ok && resolved.value.metric).toEqual({ name, target: 100, metricType: 'AverageValue' });
  });

  it('targets targetRequestRate in request-rate mode, and honours metricType Value', () => {
    const c = ctx({ ...base, targetRequestRate: '7' }, 0, { metricType: 'Value' });
    const parsed = httpScaler.parse(c);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    expect(httpScaler.metric(parsed.value, c)).toEqual({
      name: 's0-http-shop-example-com',
      target: 7,
      metricType: 'Value',
    });
  });

  it('keys a route by its sorted hosts and path prefixes', () => {
    expect(httpRouteKey({ hosts: ['b.example.com', '*.a.example.com'], pathPrefixes: ['/v2', '/'] })).toBe(
      '*.a.example.com,b.example.com|/,/v2',
    );
    expect(httpRouteKey({ hosts: ['x.io'], pathPrefixes: ['/'] })).toBe(
      httpRouteKey({ hosts: ['x.io'], pathPrefixes: ['/'] }),
    );
  });

  it('parses the friendly cold start: refresh in whole seconds, absent keys absent', () => {
    const parsed = parseHttpMetadata(
      ctx({ ...base, placeholder: 'true', placeholderRefresh: '1500ms', coldStartHeader: 'true' }),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    expect(parsed.value.placeholder).toEqual({ refreshSeconds: 2 });
    expect(parsed.value.coldStartHeader).toBe(true);
    const plain = parseHttpMetadata(ctx(base));
    if (!plain.ok) throw new Error(JSON.stringify(plain.error));
    expect('placeholder' in plain.value || 'coldStartHeader' in plain.value).toBe(false);
  });

  it('parses header matches lower-cased and sorted, and keys them after the paths', () => {
    const parsed = parseHttpMetadata(ctx({ ...base, headers: 'X-Tenant=Acme, x-canary' }));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    expect(parsed.value.headers).toEqual([{ name: 'x-canary' }, { name: 'x-tenant', value: 'Acme' }]);
    expect(httpRouteKey(parsed.value)).toBe('shop.example.com|/|x-canary,x-tenant=Acme');
    // Without header matches the key is what it always was (activators and controllers of
    // different versions keep agreeing).
    expect(
      parseHttpMetadata(ctx(base)).ok && httpRouteKey({ hosts: ['a'], pathPrefixes: ['/'], headers: [] }),
    ).toBe('a|/');
  });
});
