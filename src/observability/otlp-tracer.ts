// The activator's HoldTracer over OpenTelemetry: one span per held request, exported over
// OTLP/HTTP (JSON) by @opentelemetry/sdk-trace-base's batch processor. Every OpenTelemetry module
// is imported here, dynamically, and only when an exporter is configured (`--otlp-endpoint`, or
// OpenTelemetry's own `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`):
// with tracing off none of it is loaded. No global provider is registered (nothing at module
// level; two activators in one process keep their own).
//
// The span: name `activator hold`, kind INTERNAL, a child of the request's `traceparent` (remote
// parent; its `tracestate` kept) or a new trace when it has none or an invalid one; sampling is
// the SDK's default, parent-based (a parent that is not sampled gives a span that is not
// exported). Attributes, set when the request leaves the queue:
//   ebb.route            the route key (`namespace/name`)
//   ebb.hold_ms          how long it was held (from the first hold for a cold start)
//   ebb.cold_start       held while the route had no ready endpoint
//   ebb.outcome          forwarded | timeout | rejected | aborted (status ERROR unless forwarded)
//   http.request.method  the request's method (OpenTelemetry's semantic convention)
import type { HeldOutcome, HeldSpan, HoldTracer, TraceParent } from '../activator/tracing.ts';

export interface OtlpTracerOptions {
  /** The OTLP/HTTP base URL (`http://collector:4318`; `/v1/traces` is appended, as OpenTelemetry
   * does for OTEL_EXPORTER_OTLP_ENDPOINT); undefined: the exporter reads OpenTelemetry's env. */
  readonly endpoint?: string | undefined;
  /** `service.name` of the spans' resource. */
  readonly serviceName: string;
  /** `service.instance.id` (the activator's id). */
  readonly instanceId: string;
  readonly version: string;
}

export interface OtlpTracer {
  readonly tracer: HoldTracer;
  /** Exports what is pending, then stops. */
  shutdown(): Promise<void>;
}

/** True when OpenTelemetry's environment names an OTLP endpoint for traces. */
export const otlpEndpointFromEnv = (env: NodeJS.ProcessEnv): boolean =>
  (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim() !== '';

/** `http://collector:4318` → `http://collector:4318/v1/traces` (a trailing slash is dropped). */
export const tracesUrl = (endpoint: string): string => `${endpoint.replace(/\/+$/, '')}/v1/traces`;

export const startOtlpTracer = async (opts: OtlpTracerOptions): Promise<OtlpTracer> => {
  const [api, sdk, otlp, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const exporter = new otlp.OTLPTraceExporter(
    opts.endpoint === undefined ? {} : { url: tracesUrl(opts.endpoint) },
  );
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': opts.serviceName,
      'service.instance.id': opts.instanceId,
      'service.version': opts.version,
    }),
    spanProcessors: [new sdk.BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('ebb-activator', opts.version);

  const parentContext = (parent: TraceParent | undefined, tracestate: string | undefined) => {
    if (parent === undefined) return api.ROOT_CONTEXT;
    return api.trace.setSpanContext(api.ROOT_CONTEXT, {
      traceId: parent.traceId,
      spanId: parent.parentId,
      traceFlags: parent.flags & api.TraceFlags.SAMPLED,
      isRemote: true,
      ...(tracestate === undefined ? {} : { traceState: api.createTraceState(tracestate) }),
    });
  };

  const holdTracer: HoldTracer = {
    startHeld: (route, method, parent, tracestate): HeldSpan => {
      const span = tracer.startSpan(
        'activator hold',
        { kind: api.SpanKind.INTERNAL, attributes: { 'ebb.route': route, 'http.request.method': method } },
        parentContext(parent, tracestate),
      );
      return {
        end: (outcome: HeldOutcome, holdMs: number, coldStart: boolean) => {
          span.setAttributes({ 'ebb.hold_ms': holdMs, 'ebb.cold_start': coldStart, 'ebb.outcome': outcome });
          if (outcome !== 'forwarded') span.setStatus({ code: api.SpanStatusCode.ERROR, message: outcome });
          span.end();
        },
      };
    },
  };
  return { tracer: holdTracer, shutdown: () => provider.shutdown() };
};
