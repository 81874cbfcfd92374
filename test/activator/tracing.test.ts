// Trace context (issue 14, scope 6): traceparent/tracestate reach the backend unchanged, and with
// an exporter configured each held request is one OpenTelemetry span, a child of the incoming
// traceparent, received by a real OTLP/HTTP receiver (a node:http server decoding the JSON
// export). With tracing off no OpenTelemetry module is loaded: nothing in src/ imports one
// statically, and the one dynamic import is otlp-tracer.ts's, inside startOtlpTracer.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTraceParent } from '../../src/activator/tracing.ts';
import { type OtlpTracer, startOtlpTracer, tracesUrl } from '../../src/observability/otlp-tracer.ts';
import {
  call,
  closeAfterEach,
  routeSpec,
  serviceKey,
  startActivator,
  startBackend,
  until,
} from './helpers.ts';
import { attributes, type OtlpSpan, spansOf, startReceiver } from './otlp-receiver.ts';

const track = closeAfterEach();
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;
const TRACESTATE = 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7';

describe('parseTraceParent (W3C Trace Context §3.2)', () => {
  const zeros32 = '0'.repeat(32);
  const zeros16 = '0'.repeat(16);
  it.each([
    [TRACEPARENT, { traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 }],
    [`00-${TRACE_ID}-${PARENT_ID}-00`, { traceId: TRACE_ID, parentId: PARENT_ID, flags: 0 }],
    [`01-${TRACE_ID}-${PARENT_ID}-01-future`, { traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 }],
    [`00-${TRACE_ID}-${PARENT_ID}-01-extra`, undefined],
    [`01-${TRACE_ID}-${PARENT_ID}-01x`, undefined],
    [`ff-${TRACE_ID}-${PARENT_ID}-01`, undefined],
    [`00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, undefined],
    [`00-${zeros32}-${PARENT_ID}-01`, undefined],
    [`00-${TRACE_ID}-${zeros16}-01`, undefined],
    [`00_${TRACE_ID}-${PARENT_ID}-01`, undefined],
    [`${TRACEPARENT}, ${TRACEPARENT}`, undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j', (value, want) => expect(parseTraceParent(value)).toEqual(want));
});

describe('propagation', () => {
  it('traceparent and tracestate reach the backend unchanged, forwarded at once or held', async () => {
    const a = track(await startActivator([routeSpec('cart')]));
    const headers = { traceparent: TRACEPARENT, tracestate: TRACESTATE };
    const held = call(a.port, 'cart.test', '/', { headers });
    await until(() => a.routeStats('shop/cart').held === 1, 'the request held');
    const app = track(await startBackend());
    a.source.set(serviceKey('cart'), [app.endpoint]);
    expect((await held).status).toBe(200);
    expect((await call(a.port, 'cart.test', '/', { headers })).status).toBe(200);
    expect(app.seen.map((r) => [r.headers.traceparent, r.headers.tracestate])).toEqual([
      [TRACEPARENT, TRACESTATE],
      [TRACEPARENT, TRACESTATE],
    ]);
  });
});

describe('one span per held request, over OTLP/HTTP', () => {
  let tracer: OtlpTracer | undefined;
  afterEach(async () => {
    await tracer?.shutdown();
    tracer = undefined;
  });

  it('is a child of the traceparent, with the route, hold time, cold start and outcome', async () => {
    const receiver = track(await startReceiver());
    tracer = await startOtlpTracer({
      endpoint: `${receiver.url}/`,
      serviceName: 'ebb-activator',
      instanceId: 'activator-test',
      version: '0.0.0-test',
    });
    const a = track(
      await startActivator([routeSpec('cart', { holdTimeoutMs: 300 })], {}, undefined, undefined, undefined, {
        tracer: tracer.tracer,
      }),
    );
    // Held for a cold start, then forwarded.
    const held = call(a.port, 'cart.test', '/', {
      headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE },
    });
    await until(() => a.routeStats('shop/cart').held === 1, 'the request held');
    const app = track(await startBackend());
    a.source.set(serviceKey('cart'), [app.endpoint]);
    expect((await held).status).toBe(200);
    // Not held: no span. Then one without a traceparent that times out: a root span, ERROR.
    expect((await call(a.port, 'cart.test', '/')).status).toBe(200);
    a.source.set(serviceKey('cart'), []);
    expect((await call(a.port, 'cart.test', '/', { method: 'POST', body: 'x' })).status).toBe(504);
    await tracer.shutdown();

    expect(receiver.paths[0]).toBe('POST /v1/traces application/json');
    const spans = spansOf(receiver.exports);
    expect(spans).toHaveLength(2);
    const [child, root] = spans as [OtlpSpan, OtlpSpan];
    expect(child.name).toBe('activator hold');
    expect(child.traceId).toBe(TRACE_ID);
    expect(child.parentSpanId).toBe(PARENT_ID);
    expect(child.traceState).toBe(TRACESTATE);
    expect(child.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(child.spanId).not.toBe(PARENT_ID);
    const attrs = attributes(child);
    expect(attrs).toMatchObject({
      'ebb.route': 'shop/cart',
      'ebb.cold_start': true,
      'ebb.outcome': 'forwarded',
      'http.request.method': 'GET',
    });
    expect(attrs['ebb.hold_ms']).toBeGreaterThanOrEqual(0);
    expect(child.status?.code ?? 0).toBe(0);

    expect(root.traceId).not.toBe(TRACE_ID);
    expect(root.parentSpanId ?? '').toBe('');
    expect(attributes(root)).toMatchObject({ 'ebb.outcome': 'timeout', 'ebb.cold_start': true });
    expect(root.status).toMatchObject({ code: 2, message: 'timeout' });
    const resource = receiver.exports[0]?.resourceSpans[0]?.resource.attributes ?? [];
    expect(resource).toContainEqual({ key: 'service.name', value: { stringValue: 'ebb-activator' } });
  });

  it('a parent that is not sampled gives no exported span (parent-based sampling)', async () => {
    const receiver = track(await startReceiver());
    tracer = await startOtlpTracer({
      endpoint: receiver.url,
      serviceName: 'ebb-activator',
      instanceId: 'activator-test',
      version: '0.0.0-test',
    });
    const a = track(
      await startActivator([routeSpec('cart')], {}, undefined, undefined, undefined, {
        tracer: tracer.tracer,
      }),
    );
    const held = call(a.port, 'cart.test', '/', {
      headers: { traceparent: `00-${TRACE_ID}-${PARENT_ID}-00` },
    });
    await until(() => a.routeStats('shop/cart').held === 1, 'the request held');
    const app = track(await startBackend());
    a.source.set(serviceKey('cart'), [app.endpoint]);
    expect((await held).status).toBe(200);
    await tracer.shutdown();
    expect(spansOf(receiver.exports)).toEqual([]);
  });

  it('tracesUrl appends /v1/traces to the base URL, as OTEL_EXPORTER_OTLP_ENDPOINT is read', () => {
    expect(tracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
  });
});

// ---- zero cost off ----

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });

describe('tracing off loads nothing of OpenTelemetry', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const files = [...sources(join(root, 'src')), ...sources(join(root, 'scalers'))];

  it('no module imports @opentelemetry statically (type imports are erased)', () => {
    const offenders = files.filter((f) =>
      /^\s*import\s+(?!type\b)[^;]*from\s+'@opentelemetry\//m.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('the only dynamic import is in otlp-tracer.ts, run by startOtlpTracer alone', () => {
    const dynamic = files.filter((f) => /import\('@opentelemetry\//.test(readFileSync(f, 'utf8')));
    expect(dynamic.map((f) => f.slice(root.length))).toEqual(['src/observability/otlp-tracer.ts']);
    const text = readFileSync(join(root, 'src/observability/otlp-tracer.ts'), 'utf8');
    const body = text.slice(text.indexOf('export const startOtlpTracer'));
    expect(text.indexOf("import('@opentelemetry/")).toBeGreaterThan(
      text.indexOf('export const startOtlpTracer'),
    );
    expect(body).toContain("import('@opentelemetry/sdk-trace-base')");
  });
});
