// `ebb activator` (wiring only), in one of two shapes:
//
// Without --controller-url: the controller and the activator in one process
// (src/cli/activator-with-controller.ts). No leader election: a standby's activator would report
// to nobody.
//
// With --controller-url URL (repeatable): a standalone activator replica (a Deployment of its
// own, several replicas) reporting its stats, pokes and goodbye to every controller each URL
// names (src/cli/standalone-activator.ts).
//
// Both shapes serve /metrics (--metrics-port) and /healthz + /readyz (--health-port); see
// src/cli/activator-process.ts.
import { type Command, InvalidArgumentError } from 'commander';
import { DEFAULT_REPORT_TOKEN_FILE } from '../activator/report-token.ts';
import type { ActivatorLimits } from '../activator/server.ts';
import { DEFAULT_TLS_MIN_VERSION, parseTlsSettings } from '../activator/tls.ts';
import type { MetricsDetail } from '../observability/metrics.ts';
import type { OtlpTracer } from '../observability/otlp-tracer.ts';
import { servedPort } from '../observability/server.ts';
import { parseSecretRef, type SecretRef } from '../platform/kubernetes/tls-secrets.ts';
import {
  MAX_REQUEST_BODY_TIMEOUT_MS,
  MAX_RESPONSE_TIMEOUT_MS,
  MAX_UPGRADE_IDLE_MS,
} from '../routing/http-trigger.ts';
import {
  DEFAULT_ACTIVATOR_PORT,
  defaultActivatorId,
  type RunningActivatorProcess,
} from './activator-process.ts';
import type { ActivatorTlsOptions } from './activator-tls.ts';
import { runActivatorController } from './activator-with-controller.ts';
import {
  BACKEND_CA_FILE_HELP,
  BACKEND_TLS_INSECURE_HELP,
  backendTlsFromFlags,
  INSECURE_WARNING,
} from './backend-tls-flags.ts';
import { clusterReady } from './cluster-check.ts';
import { DEFAULT_HEALTH_PORT, DEFAULT_METRICS_PORT } from './controller-wiring.ts';
import {
  EbbCommand,
  httpUrl,
  metricsDetailOption,
  parseFlags,
  portNumber,
  positiveInt,
  seconds,
  secondsOrZero,
  secondsUpTo,
  TRUSTED_PROXIES_HELP,
  trustedProxies,
} from './flags.ts';
import type { CliIO } from './io.ts';
import { runStandaloneActivator } from './standalone-activator.ts';
import { waitForSignal } from './stop-signal.ts';
import { OTLP_ENDPOINT_HELP, otlpEndpoint, startTracing } from './tracing-flags.ts';

interface ActivatorFlags {
  kubeconfig?: string;
  namespace?: string;
  port: number;
  address?: string;
  maxHeldRequests?: number;
  drainTimeout?: number;
  drainDelay?: number;
  responseTimeout?: number;
  trustedProxies: string[];
  requestBodyTimeout?: number;
  upgradeIdleTimeout?: number;
  controllerUrl: string[];
  healthPort: number;
  metricsPort: number;
  metricsDetail: MetricsDetail;
  reportTokenFile: string;
  tlsPort?: number;
  tlsSecret: SecretRef[];
  tlsMinVersion: string;
  tlsCiphers?: string;
  otlpEndpoint?: string;
  backendCaFile?: string;
  backendTlsInsecure?: boolean;
}

/**
 * On SIGTERM the activator keeps serving this long after its readiness failed: kube-proxy and
 * ingress controllers usually stop sending to a terminating endpoint within a few seconds
 * (Knative's queue-proxy waits for the same reason). Local mode has no load balancer: 0 there.
 */
export const DEFAULT_DRAIN_DELAY_MS = 5_000;

/** `--tls-secret ns/name` (repeatable); the error names the part that is wrong. */
const collectSecret = (value: string, previous: SecretRef[]): SecretRef[] => {
  const ref = parseSecretRef(value);
  if (typeof ref === 'string') throw new InvalidArgumentError(ref);
  return [...previous, ref];
};

const collectUrl = (value: string, previous: string[]): string[] => [...previous, httpUrl(value)];

/** `ebb activator`'s flags. */
export const activatorFlagsCommand = (io: CliIO): Command =>
  new EbbCommand('ebb activator')
    .description(
      'run the HTTP activator: requests for http triggers are routed, counted and held across scale-from-zero. ' +
        'Without --controller-url the controller runs in the same process; with it, this is one activator ' +
        'replica reporting to the controllers (`ebb run --report-port`)',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--namespace <ns>', 'watch ScaledObjects, Services and EndpointSlices in this namespace only')
    .option('--port <n>', 'port the activator listens on', portNumber, DEFAULT_ACTIVATOR_PORT)
    .option('--address <ip>', 'address the activator listens on (default: all interfaces)')
    .option('--max-held-requests <n>', 'requests held at once across all routes (default 10000)', positiveInt)
    .option(
      '--drain-delay <s>',
      'seconds SIGTERM keeps serving new connections after readiness failed, before the listener closes (default 5; 0: none)',
      secondsOrZero,
    )
    .option(
      '--drain-timeout <s>',
      'seconds after the listener closed that SIGTERM waits for in-flight requests (default 30)',
      seconds,
    )
    .option(
      '--response-timeout <s>',
      'seconds a forwarded request waits for the response head before a 504 (default 300; at most 3600)',
      secondsUpTo(MAX_RESPONSE_TIMEOUT_MS, false),
    )
    .option('--trusted-proxies <cidrs>', TRUSTED_PROXIES_HELP, trustedProxies, [])
    .option(
      '--request-body-timeout <s>',
      'seconds a forwarded request body may stop arriving before a 408 (default 60; 0: no limit; at most 3600)',
      secondsUpTo(MAX_REQUEST_BODY_TIMEOUT_MS, true),
    )
    .option(
      '--upgrade-idle-timeout <s>',
      'seconds an upgraded connection (WebSocket) may carry no byte before it is closed (default 60; 0: no limit; at most 86400)',
      secondsUpTo(MAX_UPGRADE_IDLE_MS, true),
    )
    .option(
      '--tls-port <n>',
      'also serve HTTPS on this port (off by default; needs --tls-secret)',
      portNumber,
    )
    .option(
      '--tls-secret <namespace/name>',
      'a kubernetes.io/tls Secret (tls.crt, tls.key) the TLS port serves, chosen by SNI from its DNS names; repeatable; the first is the default certificate; reloaded when it changes',
      collectSecret,
      [],
    )
    .option(
      '--tls-min-version <v>',
      'lowest TLS version accepted: TLSv1.2 or TLSv1.3',
      DEFAULT_TLS_MIN_VERSION,
    )
    .option('--tls-ciphers <list>', "OpenSSL cipher list for TLS 1.2 (default: node's)")
    .option('--backend-ca-file <file>', BACKEND_CA_FILE_HELP)
    .option('--backend-tls-insecure', BACKEND_TLS_INSECURE_HELP)
    .option('--health-port <n>', 'port of /healthz and /readyz (0: off)', portNumber, DEFAULT_HEALTH_PORT)
    .option(
      '--metrics-port <n>',
      "port of Prometheus /metrics (0: off; without --controller-url also the controller's metrics)",
      portNumber,
      DEFAULT_METRICS_PORT,
    )
    .addOption(metricsDetailOption())
    .option(
      '--controller-url <url>',
      'a controller replica to report to (repeatable; e.g. http://ebb-controller-0.ebb:9091); makes this a standalone activator',
      collectUrl,
      [],
    )
    .option('--otlp-endpoint <url>', OTLP_ENDPOINT_HELP, otlpEndpoint)
    .option(
      '--report-token-file <path>',
      "with --controller-url: the ServiceAccount token sent with every report (re-read as the kubelet rotates it); 'none' sends none (only for a controller run with --report-auth=none)",
      DEFAULT_REPORT_TOKEN_FILE,
    )
    .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) })
    .exitOverride();

/** `ebb activator [flags]`: runs until SIGINT/SIGTERM, then drains; resolves to the exit code. */
export const activatorCommand = async (argv: readonly string[], io: CliIO): Promise<number> => {
  const flags = parseFlags<ActivatorFlags>(activatorFlagsCommand(io), argv);
  if (typeof flags === 'number') return flags;
  const tls = tlsOptions(flags);
  if (typeof tls === 'string') {
    io.stderr.write(`ebb activator: ${tls}\n`);
    return 2;
  }
  const backendTls = await backendTlsFromFlags(flags.backendCaFile, flags.backendTlsInsecure);
  if (typeof backendTls === 'string') {
    io.stderr.write(`ebb activator: ${backendTls}\n`);
    return 2;
  }
  if (backendTls.insecure === true) io.stderr.write(`ebb activator: ${INSECURE_WARNING}\n`);
  // Before any port is opened: without a cluster there is nothing to route to.
  if (!(await clusterReady('activator', flags.kubeconfig, io.stderr))) return 1;
  const limits: Partial<ActivatorLimits> = {
    ...(flags.maxHeldRequests === undefined ? {} : { maxHeldRequests: flags.maxHeldRequests }),
    ...(flags.drainTimeout === undefined ? {} : { drainTimeoutMs: flags.drainTimeout }),
    drainDelayMs: flags.drainDelay ?? DEFAULT_DRAIN_DELAY_MS,
    ...(flags.responseTimeout === undefined ? {} : { responseTimeoutMs: flags.responseTimeout }),
    ...(flags.requestBodyTimeout === undefined ? {} : { requestBodyTimeoutMs: flags.requestBodyTimeout }),
    ...(flags.upgradeIdleTimeout === undefined ? {} : { upgradeIdleTimeoutMs: flags.upgradeIdleTimeout }),
  };
  // One id for the stats and the spans' service.instance.id.
  const activatorId = defaultActivatorId();
  let tracing: OtlpTracer | undefined;
  try {
    tracing = await startTracing(flags.otlpEndpoint, process.env, activatorId);
  } catch (err) {
    io.stderr.write(
      `ebb activator: cannot start tracing: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
  const common = {
    kubeconfig: flags.kubeconfig,
    namespace: flags.namespace,
    port: flags.port,
    activatorId,
    ...(flags.address === undefined ? {} : { address: flags.address }),
    limits,
    trustedProxies: flags.trustedProxies,
    healthPort: servedPort(flags.healthPort),
    metricsPort: servedPort(flags.metricsPort),
    metricsDetail: flags.metricsDetail,
    tls,
    backendTls,
    ...(tracing === undefined ? {} : { tracer: tracing.tracer }),
  };
  let running: RunningActivatorProcess;
  try {
    running =
      flags.controllerUrl.length === 0
        ? await runActivatorController(common)
        : await runStandaloneActivator({
            ...common,
            controllerUrls: flags.controllerUrl,
            reportTokenFile: flags.reportTokenFile === 'none' ? false : flags.reportTokenFile,
          });
  } catch (err) {
    io.stderr.write(`ebb activator: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    await tracing?.shutdown();
    return 1;
  }
  const served = [
    ...(running.metricsUrl === undefined ? [] : [`/metrics on ${running.metricsUrl}`]),
    ...(running.healthUrl === undefined ? [] : [`/healthz and /readyz on ${running.healthUrl}`]),
  ];
  io.stderr.write(
    `${
      flags.controllerUrl.length === 0
        ? `ebb activator: controller running, activator listening on ${running.url}`
        : `ebb activator: listening on ${running.url}, reporting to ${flags.controllerUrl.join(', ')}`
    }${running.tlsUrl === undefined ? '' : ` and ${running.tlsUrl}`}${served.length === 0 ? '' : `; ${served.join(', ')}`}\n`,
  );
  const use = running.activator.connections();
  const count = (n: number): string => (Number.isFinite(n) ? String(n) : 'unlimited');
  io.stderr.write(
    `ebb activator: open-file limit ${count(use.openFileLimit)}: at most ${count(use.maxClientConnections)} client connections and ${count(use.maxUpstreamRequests)} forwarded requests at once\n`,
  );
  const signal = await waitForSignal();
  io.stderr.write(`ebb activator: ${signal}, draining\n`);
  await running.drain();
  await tracing?.shutdown();
  return 0;
};

/** The TLS flags as one setting, undefined without --tls-port, or a message naming the flag. */
const tlsOptions = (flags: ActivatorFlags): ActivatorTlsOptions | undefined | string => {
  if (flags.tlsPort === undefined)
    return flags.tlsSecret.length === 0
      ? undefined
      : '--tls-secret needs --tls-port (the port to serve HTTPS on)';
  if (flags.tlsSecret.length === 0) return '--tls-port needs at least one --tls-secret namespace/name';
  const settings = parseTlsSettings(flags.tlsMinVersion, flags.tlsCiphers);
  if (typeof settings === 'string') return settings;
  return { port: flags.tlsPort, secrets: flags.tlsSecret, settings };
};
