// What `ebb run` and `ebb activator` check before they start anything (no port is opened until
// it passes): a kubeconfig is found, the API server answers, the ScaledObject CRD is installed.
// Each failure is one message saying what was tried, what to do, and `ebb local` as the way to
// run without a cluster; the command then exits 1 instead of retrying forever.
//
// The search is the loader's (src/platform/kubernetes/kubeconfig.ts, client-go's order, as
// kubectl): the --kubeconfig file; else every file of $KUBECONFIG; else ~/.kube/config; else
// in-cluster (the ServiceAccount token file). It is done here first to list every place tried
// and what to do; the loader itself only names the first thing that failed.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { logger } from '../logging.ts';
import { ebbBuildInfo } from '../observability/build-info.ts';
import { SERVICE_ACCOUNT_DIR } from '../platform/kubernetes/in-cluster.ts';
import { kubernetesPlatform, userAgent } from '../platform/kubernetes/index.ts';
import { describeError, type Output } from './io.ts';

/** The in-cluster credentials (client-go's rest.InClusterConfig). */
export const IN_CLUSTER_TOKEN = `${SERVICE_ACCOUNT_DIR}/token`;

export interface KubeconfigSearch {
  /** `--kubeconfig`, when given. */
  readonly flag?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
}

/** Where the kubeconfig was found, or each place tried and why it did not do. */
export type KubeconfigLocation =
  | { readonly ok: true; readonly source: string }
  | {
      readonly ok: false;
      readonly tried: readonly (readonly [string, string])[];
      readonly unreadable: boolean;
    };

/** Why a kubeconfig file cannot be read (errno and reason), or undefined when it can. */
const unreadable = (path: string): string | undefined => {
  try {
    accessSync(path, constants.R_OK);
    if (statSync(path).isDirectory()) return 'EISDIR: a directory, not a kubeconfig file';
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${code === undefined ? '' : `${code}: `}${describeError(err)}`;
  }
};

export const locateKubeconfig = (search: KubeconfigSearch = {}): KubeconfigLocation => {
  const env = search.env ?? process.env;
  if (search.flag !== undefined && search.flag !== '') {
    const why = unreadable(search.flag);
    return why === undefined
      ? { ok: true, source: `--kubeconfig ${search.flag}` }
      : { ok: false, unreadable: true, tried: [['--kubeconfig', `cannot read ${search.flag}: ${why}`]] };
  }
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter((file) => file !== '');
  if (listed.length > 0) {
    // client-go skips the files of $KUBECONFIG that do not exist; one that exists must be readable.
    const present = listed.filter((file) => existsSync(file));
    if (present.length === 0)
      return {
        ok: false,
        unreadable: true,
        tried: [['$KUBECONFIG', `none of ${listed.join(delimiter)} exists`]],
      };
    for (const file of present) {
      const why = unreadable(file);
      if (why !== undefined)
        return { ok: false, unreadable: true, tried: [['$KUBECONFIG', `cannot read ${file}: ${why}`]] };
    }
    return { ok: true, source: `$KUBECONFIG ${present.join(delimiter)}` };
  }
  const home = join(search.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) {
    const why = unreadable(home);
    return why === undefined
      ? { ok: true, source: home }
      : { ok: false, unreadable: true, tried: [['~/.kube/config', `cannot read ${home}: ${why}`]] };
  }
  const tried: [string, string][] = [
    ['--kubeconfig', 'not given'],
    ['$KUBECONFIG', 'not set'],
    ['~/.kube/config', `${home} does not exist`],
  ];
  if (existsSync(IN_CLUSTER_TOKEN)) {
    if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_PORT !== undefined)
      return { ok: true, source: 'in-cluster (ServiceAccount)' };
    tried.push(['in-cluster', `${IN_CLUSTER_TOKEN} exists, but $KUBERNETES_SERVICE_HOST/_PORT are not set`]);
  } else tried.push(['in-cluster', `no ServiceAccount token at ${IN_CLUSTER_TOKEN} (not in a pod)`]);
  return { ok: false, unreadable: false, tried };
};

/** What to do, the same for every failure: point at a cluster, or run without one. */
const WHAT_TO_DO: readonly string[] = [
  'What to do:',
  '  - Point ebb at a cluster: --kubeconfig FILE (or $EBB_KUBECONFIG), $KUBECONFIG, or create one',
  '    (`kind create cluster`, `minikube start`: they write ~/.kube/config); check with `kubectl get ns`.',
  '  - No cluster? `ebb local FILE` runs the same controller and activator on this machine, scaling',
  '    local processes (try `ebb local examples/local/ebb.yaml`); `ebb validate` and `ebb simulate`',
  '    check and replay ScaledObjects offline.',
  '',
];

/** No kubeconfig, or one that cannot be read: each place tried, and what to do. */
export const noKubeconfigMessage = (
  command: string,
  location: KubeconfigLocation & { ok: false },
): string => {
  const width = Math.max(...location.tried.map(([place]) => place.length));
  return [
    location.unreadable
      ? `ebb ${command}: cannot read the kubeconfig.`
      : `ebb ${command}: no Kubernetes cluster is configured. Tried, in order:`,
    ...location.tried.map(([place, outcome]) => `  ${place.padEnd(width)}  ${outcome}`),
    '',
    ...WHAT_TO_DO,
  ].join('\n');
};

/** A kubeconfig was found but its API server did not answer. */
export const unreachableMessage = (
  command: string,
  source: string,
  context: string,
  server: string,
  error: string,
): string =>
  [
    `ebb ${command}: no Kubernetes cluster is reachable.`,
    `  kubeconfig:  ${source}`,
    `  context:     ${context || '(none)'}`,
    `  API server:  ${server || '(none)'}`,
    `  error:       ${error}`,
    '',
    ...WHAT_TO_DO,
  ].join('\n');

/**
 * Finds the kubeconfig, asks the API server its version and whether the CRD is installed.
 * true: go on (one line on `stderr` says where); false: a message was written, exit 1.
 */
export const clusterReady = async (command: string, kubeconfig: string | undefined, stderr: Output) => {
  const location = locateKubeconfig({ flag: kubeconfig });
  if (!location.ok) {
    stderr.write(noKubeconfigMessage(command, location));
    return false;
  }
  let probe: ReturnType<typeof kubernetesPlatform>;
  try {
    probe = kubernetesPlatform({
      kubeconfig,
      identity: 'probe',
      log: logger,
      client: { userAgent: userAgent(ebbBuildInfo().version, command) },
    });
  } catch (err) {
    stderr.write(
      unreachableMessage(command, location.source, '', '', `cannot load it: ${describeError(err)}`),
    );
    return false;
  }
  try {
    const reachable = await probe.reachable();
    if (!reachable.ok) {
      stderr.write(
        unreachableMessage(
          command,
          location.source,
          probe.context,
          probe.client.server,
          reachable.error.message,
        ),
      );
      return false;
    }
    const crd = await probe.crdInstalled();
    if (crd.ok && !crd.value) {
      stderr.write(
        `ebb ${command}: the ScaledObject CRD is not installed on ${probe.client.server}.\n` +
          'Install it with `kubectl apply -f crds/` (or `ebb crds | kubectl apply -f -`), then run again.\n',
      );
      return false;
    }
    stderr.write(
      `ebb ${command}: cluster ${reachable.value.server} (${reachable.value.version}), context "${probe.context}" from ${location.source}\n`,
    );
    return true;
  } finally {
    await probe.close();
  }
};
