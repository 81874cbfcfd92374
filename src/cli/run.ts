// `ebb run` (cluster mode; `ebb start` is another name for it): flags → the cluster check
// (src/cli/cluster-check.ts) → runController (src/cli/controller-wiring.ts) → SIGINT/SIGTERM.
// Wiring only; the logic is in src/controller.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_REPORT_PORT } from '../controller/activator-reports.ts';
import { DEFAULT_POLL_TIMEOUT_MS } from '../controller/controller.ts';
import { parseAllowedServiceAccounts } from '../controller/report-auth.ts';
import type { MetricsDetail } from '../observability/metrics.ts';
import { servedPort } from '../observability/server.ts';
import { DEFAULT_STATUS_BURST, DEFAULT_STATUS_QPS } from '../platform/kubernetes/index.ts';
import { clusterReady } from './cluster-check.ts';
import {
  DEFAULT_ADAPTER_PORT,
  DEFAULT_HEALTH_PORT,
  DEFAULT_LEASE_NAME,
  DEFAULT_MAX_CONCURRENT_POLLS,
  DEFAULT_METRICS_PORT,
  runController,
} from './controller-wiring.ts';
import {
  collect,
  EbbCommand,
  metricsDetailOption,
  parseFlags,
  portNumber,
  positiveInt,
  seconds,
} from './flags.ts';
import type { CliIO } from './io.ts';
import { waitForSignal } from './stop-signal.ts';

interface RunFlags {
  kubeconfig?: string;
  namespace?: string;
  clusterObjectNamespace?: string;
  leaderElect?: boolean;
  leaseName: string;
  leaseNamespace?: string;
  leaseDuration?: number;
  renewDeadline?: number;
  retryPeriod?: number;
  maxConcurrentPolls: number;
  statusWriteQps: number;
  statusWriteBurst: number;
  pollTimeout?: number;
  metricsPort: number;
  metricsDetail: MetricsDetail;
  healthPort: number;
  reportPort: number;
  reportAuth: 'tokenreview' | 'none';
  reportAllowedServiceAccounts: string[];
  reportTokenAudience: string[];
  adapterPort: number;
  adapterCertDir?: string;
  requestheaderClientCa?: string;
  adapterService?: string;
}

/** `--report-allowed-service-accounts`: checked at parse time, so a typo stops ebb at once. */
const allowedServiceAccounts = (value: string, previous: string[]): string[] => {
  const parsed = parseAllowedServiceAccounts([value]);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  return [...previous, value];
};

/** `ebb run`'s flags (`ebb start` is the same command under another name). */
export const runFlagsCommand = (io: CliIO): Command =>
  new EbbCommand('ebb run')
    .description(
      'run the controller against a cluster: the --kubeconfig file, else $KUBECONFIG, ~/.kube/config, in-cluster',
    )
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--namespace <ns>', 'watch ScaledObjects in this namespace only (default: all namespaces)')
    .option(
      '--cluster-object-namespace <ns>',
      'namespace ClusterTriggerAuthentications read their Secrets from (default: ebb-system)',
    )
    .option('--leader-elect', 'run as one of several replicas; only the Lease holder polls and writes')
    .option('--lease-name <name>', 'Lease used for leader election', DEFAULT_LEASE_NAME)
    .option(
      '--lease-namespace <ns>',
      'namespace of the Lease (default: --namespace, $POD_NAMESPACE, default)',
    )
    .option('--lease-duration <s>', 'seconds a standby waits before taking over (default 15)', seconds)
    .option(
      '--renew-deadline <s>',
      'seconds the leader tries to renew before giving up (default 10)',
      seconds,
    )
    .option('--retry-period <s>', 'seconds between lease attempts (default 2)', seconds)
    .option(
      '--max-concurrent-polls <n>',
      'polls in flight at once (a poll still waiting after 50 ms gives its slot to a due one)',
      positiveInt,
      DEFAULT_MAX_CONCURRENT_POLLS,
    )
    .option(
      '--status-write-qps <n>',
      'status writes a second once the burst is spent (a token bucket, as client-go paces its requests)',
      positiveInt,
      DEFAULT_STATUS_QPS,
    )
    .option(
      '--status-write-burst <n>',
      'status writes sent at once before pacing starts',
      positiveInt,
      DEFAULT_STATUS_BURST,
    )
    .option(
      '--poll-timeout <s>',
      `seconds a poll waits for its sources and the API: what has not answered by then is that object's error (default ${DEFAULT_POLL_TIMEOUT_MS / 1000})`,
      seconds,
    )
    .option('--metrics-port <n>', 'port of Prometheus /metrics (0: off)', portNumber, DEFAULT_METRICS_PORT)
    .addOption(metricsDetailOption())
    .option('--health-port <n>', 'port of /healthz and /readyz (0: off)', portNumber, DEFAULT_HEALTH_PORT)
    .option(
      '--adapter-port <n>',
      'HTTPS port of the external.metrics.k8s.io adapter HPA mode reads through the aggregation layer (0: off)',
      portNumber,
      DEFAULT_ADAPTER_PORT,
    )
    .option(
      '--adapter-cert-dir <dir>',
      "the adapter's serving certificate, tls.crt and tls.key (default: a self-signed one made at start)",
    )
    .option(
      '--requestheader-client-ca <file>',
      "CA of the aggregator's front-proxy client certificate (default: ConfigMap kube-system/extension-apiserver-authentication)",
    )
    .option(
      '--adapter-service <name>',
      "the adapter's selector-less Service in the pod's namespace: the leader keeps its EndpointSlice naming itself ($POD_IP, $POD_NAME, $POD_NAMESPACE)",
    )
    .option(
      '--report-port <n>',
      'port standalone activators (`ebb activator --controller-url`) report to (0: off)',
      portNumber,
      DEFAULT_REPORT_PORT,
    )
    .addOption(
      new Option(
        '--report-auth <mode>',
        "how activator reports are authenticated: tokenreview (the activator's ServiceAccount token, checked by the API server) or none (development only: anyone who reaches the port can drive scaling)",
      )
        .choices(['tokenreview', 'none'])
        .default('tokenreview'),
    )
    .option(
      '--report-allowed-service-accounts <ns:name,...>',
      'ServiceAccounts whose tokens may report (repeatable, comma-separated); others get 403',
      allowedServiceAccounts,
      [],
    )
    .option(
      '--report-token-audience <audience>',
      "audience the activators' tokens must have (repeatable; default: the API server's own)",
      collect,
      [],
    )
    .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) })
    .exitOverride();

/** Checks the cluster and the CRD, runs the controller until SIGINT/SIGTERM; the exit code. */
const runUntilSignal = async (flags: RunFlags, io: CliIO): Promise<number> => {
  if (!(await clusterReady('run', flags.kubeconfig, io.stderr))) return 1;
  const running = await runController({
    kubeconfig: flags.kubeconfig,
    namespace: flags.namespace,
    clusterObjectNamespace: flags.clusterObjectNamespace,
    leaderElect: flags.leaderElect === true,
    leaseName: flags.leaseName,
    leaseNamespace: flags.leaseNamespace,
    maxConcurrentPolls: flags.maxConcurrentPolls,
    statusWriteQps: flags.statusWriteQps,
    statusWriteBurst: flags.statusWriteBurst,
    ...(flags.pollTimeout === undefined ? {} : { pollTimeoutMs: flags.pollTimeout }),
    metricsPort: servedPort(flags.metricsPort),
    metricsDetail: flags.metricsDetail,
    healthPort: servedPort(flags.healthPort),
    adapterPort: servedPort(flags.adapterPort),
    adapterCertDir: flags.adapterCertDir,
    requestHeaderClientCAFile: flags.requestheaderClientCa,
    adapterService: flags.adapterService,
    ...(flags.leaseDuration === undefined ? {} : { leaseDurationMs: flags.leaseDuration }),
    ...(flags.renewDeadline === undefined ? {} : { renewDeadlineMs: flags.renewDeadline }),
    ...(flags.retryPeriod === undefined ? {} : { retryPeriodMs: flags.retryPeriod }),
    reportPort: servedPort(flags.reportPort),
    reportAuth: flags.reportAuth,
    reportAllowedServiceAccounts: flags.reportAllowedServiceAccounts,
    reportTokenAudiences: flags.reportTokenAudience,
  });
  const signal = await waitForSignal();
  io.stderr.write(`ebb run: ${signal}, stopping\n`);
  await running.stop();
  return 0;
};

/** `ebb run [flags]` (also `ebb start`): the RunModule contract of src/cli/program.ts. */
export const run = async (argv: readonly string[], io: CliIO): Promise<number> => {
  const flags = parseFlags<RunFlags>(runFlagsCommand(io), argv);
  return typeof flags === 'number' ? flags : runUntilSignal(flags, io);
};
