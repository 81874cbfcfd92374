// Helpers for integration test files (they run in vitest workers; the servers run in the main
// process, started by global-setup.ts). Typical use:
//
//   const ns = useNamespace('scale');          // fresh namespace for this file, deleted afterwards
//   const kc = kubeConfig();                   // KubeConfig for the shared kube-apiserver
//   it('...', async () => { kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: ns.name, ... }) })
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadKubeConfig, type RestConfig } from '../../src/platform/kubernetes/kubeconfig.ts';
import {
  type ControllerManager,
  type KubeConnection,
  type StartControllerManagerOptions,
  startControllerManager as startKcm,
} from './kube.ts';
import './service.ts';
import type { KafkaConnection } from './kafka.ts';
import type { RabbitMQConnection } from './rabbitmq.ts';

/** Connection info of the run's kube-apiserver; throws when the `kube` service is not running. */
export function kubeConnection(): KubeConnection {
  const conn = inject('ebbKube');
  if (conn === undefined) {
    throw new Error(
      'no kube-apiserver: run this file in the `integration` vitest project (its globalSetup starts it) ' +
        'and keep `kube` in EBB_TEST_ENV',
    );
  }
  return conn;
}

/** A KubeConfig for the run's kube-apiserver (admin token, verified TLS), loaded from its kubeconfig file. */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeConnection().kubeconfigPath);
  return kc;
}

/** ebb's own loader (src/platform/kubernetes/kubeconfig.ts) on the run's kubeconfig file. */
export function restConfig(): RestConfig {
  return loadKubeConfig({ path: kubeConnection().kubeconfigPath });
}

/** `prefix-xxxxxx`, a valid namespace (DNS label) name unique to this run. */
export function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${clean || 'test'}-${randomBytes(3).toString('hex')}`;
}

export interface TestNamespace {
  readonly name: string;
  /** Deletes it (background); without kube-controller-manager it stays Terminating, harmlessly. */
  delete(): Promise<void>;
}

/** Creates a uniquely named namespace labelled `ebb.dev/test=true`. */
export async function createNamespace(
  prefix = 'test',
  kc: KubeConfig = kubeConfig(),
): Promise<TestNamespace> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = uniqueName(prefix);
  await core.createNamespace({ body: { metadata: { name, labels: { 'ebb.dev/test': 'true' } } } });
  return {
    name,
    async delete() {
      if (process.env.EBB_TEST_KEEP_NAMESPACES === '1') return;
      await core.deleteNamespace({ name, propagationPolicy: 'Background' });
    },
  };
}

/**
 * Registers beforeAll/afterAll hooks that create a fresh namespace for the current file (or
 * describe block) and delete it afterwards. Read `.name` inside tests or later hooks.
 */
export function useNamespace(prefix = 'test'): { readonly name: string } {
  let ns: TestNamespace | undefined;
  beforeAll(async () => {
    ns = await createNamespace(prefix);
  });
  afterAll(async () => {
    await ns?.delete();
  });
  return {
    get name(): string {
      if (ns === undefined)
        throw new Error('useNamespace(): the namespace exists only inside tests and hooks');
      return ns.name;
    },
  };
}

/** Runs an action a service registered in the main process (see service.ts), e.g. `kube/restart-apiserver`. */
export async function envAction(name: string, body?: unknown): Promise<unknown> {
  const control = inject('ebbEnvControl');
  if (control === undefined)
    throw new Error('no test environment control endpoint (not an integration run?)');
  const res = await fetch(`${control.url}/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${control.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const reply = (await res.json()) as { result?: unknown; error?: string };
  if (!res.ok)
    throw new Error(`env action ${name} failed (${res.status}): ${reply.error ?? 'unknown error'}`);
  return reply.result;
}

/**
 * Stops kube-apiserver and starts it again on the same port and etcd (about 3 s); resolves when
 * it is ready again. Clients keep their KubeConfig. Affects every later test of the run.
 */
export async function restartApiServer(): Promise<void> {
  await envAction('kube/restart-apiserver');
}

/**
 * Starts kube-controller-manager (HPA with a 1 s sync period, deployment, replicaset, garbage
 * collector, namespace) against the run's kube-apiserver, from this test worker. Stop it in
 * afterAll; it is killed with the worker anyway.
 */
export function startControllerManager(opts: StartControllerManagerOptions = {}): Promise<ControllerManager> {
  return startKcm(kubeConnection(), opts);
}

/** The run's real Kafka broker (started by global-setup). */
export function kafkaConnection(): KafkaConnection {
  const conn = inject('ebbKafka');
  if (conn === undefined)
    throw new Error('no Kafka broker: keep `kafka` in EBB_TEST_ENV (integration project)');
  return conn;
}

/** The run's real RabbitMQ node (started by global-setup). */
export function rabbitmqConnection(): RabbitMQConnection {
  const conn = inject('ebbRabbitMQ');
  if (conn === undefined)
    throw new Error('no RabbitMQ node: keep `rabbitmq` in EBB_TEST_ENV (integration project)');
  return conn;
}

/** Stops / starts the run's real broker (same port and data); affects every later test of the run. */
export const stopKafkaBroker = async (): Promise<void> => void (await envAction('kafka/stop-broker'));
export const startKafkaBroker = async (): Promise<void> => void (await envAction('kafka/start-broker'));
export const stopRabbitMQBroker = async (): Promise<void> => void (await envAction('rabbitmq/stop-broker'));
export const startRabbitMQBroker = async (): Promise<void> => void (await envAction('rabbitmq/start-broker'));
