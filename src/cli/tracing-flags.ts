// --otlp-endpoint (`ebb activator`, `ebb local`): one OpenTelemetry span per held request,
// exported over OTLP/HTTP (src/observability/otlp-tracer.ts). Without the flag OpenTelemetry's
// own OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT turn it on; with neither
// tracing is off and no OpenTelemetry module is loaded.
import { ebbBuildInfo } from '../observability/build-info.ts';
import { type OtlpTracer, otlpEndpointFromEnv, startOtlpTracer } from '../observability/otlp-tracer.ts';
import { httpUrl } from './flags.ts';

export const OTLP_ENDPOINT_HELP =
  'export one OpenTelemetry span per held request over OTLP/HTTP to this base URL (/v1/traces appended; e.g. http://otel-collector:4318); without it OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT turn tracing on; default off';

/** The OTLP/HTTP base URL of --otlp-endpoint. */
export const otlpEndpoint = (value: string): string =>
  httpUrl(value, ' (the OTLP/HTTP base, e.g. http://otel-collector:4318)');

/**
 * The OTLP tracer when an endpoint is configured (the flag, else OpenTelemetry's env);
 * OpenTelemetry's modules are loaded only then. `service.name` is OTEL_SERVICE_NAME, else
 * `ebb-activator`.
 */
export const startTracing = async (
  endpoint: string | undefined,
  env: NodeJS.ProcessEnv,
  instanceId: string,
): Promise<OtlpTracer | undefined> => {
  if (endpoint === undefined && !otlpEndpointFromEnv(env)) return undefined;
  return startOtlpTracer({
    endpoint,
    serviceName: env.OTEL_SERVICE_NAME ?? 'ebb-activator',
    instanceId,
    version: ebbBuildInfo().version,
  });
};
