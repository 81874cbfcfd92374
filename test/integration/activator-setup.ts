// Shared setup of the activator integration tests: `ebb activator` (controller + activator in
// one process) against the real API server, a namespace, a network namespace for the test
// kubelet's backends, and helpers that create an app (Deployment at 0 + Service, with a kubelet)
// and an http-triggered ScaledObject for it. Call `useActivatorEnv` once at a file's top level.
import { type Agent, type ClientRequest, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { AppsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import { type RunningActivator, runActivatorController } from '../../src/cli/activator-with-controller.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  conditionOf,
  createHttpApp,
  createScaledObject,
  installCrd,
  readScaledObject,
} from '../controller/cluster.ts';
import { type KubeletOptions, startKubelet, type TestKubelet } from '../env/kubelet.ts';
import { useNetns } from '../env/netns.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';

export const WAIT = { timeout: 20_000, interval: 50 };

export interface ActivatorEnv {
  readonly kc: KubeConfig;
  readonly apps: AppsV1Api;
  readonly ns: { readonly name: string };
  /**
   * A Deployment at 0 and its Service (port 80 `http` → 8080); with a kubelet unless `pods`
   * is false (then the target is woken but never becomes ready).
   */
  createApp(
    name: string,
    pods?: boolean | Pick<KubeletOptions, 'startDelayMs' | 'backend' | 'appProtocol'>,
  ): Promise<TestKubelet | undefined>;
  /** A ScaledObject with one http trigger for host `<name>.example.test`; waits until it is routed and polled. */
  createHttpScaledObject(
    name: string,
    metadata?: Record<string, string>,
    spec?: Record<string, unknown>,
  ): Promise<void>;
}

export function useActivatorEnv(
  prefix: string,
  hooks: { onStarted?(running: RunningActivator): void; beforeStop?(): void } = {},
): ActivatorEnv {
  const kc = kubeConfig();
  const apps = kc.makeApiClient(AppsV1Api);
  const ns = useNamespace(prefix);
  const net = useNetns();
  const kubelets: TestKubelet[] = [];
  let running: RunningActivator | undefined;

  beforeAll(async () => {
    await installCrd(kc);
    running = await runActivatorController({
      kubeconfig: kubeConnection().kubeconfigPath,
      namespace: ns.name,
      log: silentLogger,
      eventRefreshMs: 500,
      port: 0,
      address: '127.0.0.1',
    });
    hooks.onStarted?.(running);
  });

  afterAll(async () => {
    hooks.beforeStop?.();
    await Promise.all(kubelets.map((k) => k.stop()));
    await running?.stop();
  });

  return {
    kc,
    apps,
    ns,
    async createApp(name, pods = true) {
      await createHttpApp(kc, ns.name, name, typeof pods === 'object' ? pods.appProtocol : undefined);
      if (pods === false) return undefined;
      const kubelet = await startKubelet({
        kc,
        namespace: ns.name,
        deployment: name,
        service: name,
        netns: net.current,
        terminationGraceMs: 2_000,
        ...(pods === true ? {} : pods),
      });
      kubelets.push(kubelet);
      return kubelet;
    },
    async createHttpScaledObject(name, metadata = {}, spec = {}) {
      await createScaledObject(kc, ns.name, name, {
        spec: { pollingInterval: 30, cooldownPeriod: 300, ...spec },
        triggers: [
          {
            type: 'http',
            metadata: { hosts: `${name}.example.test`, service: name, port: '80', ...metadata },
          },
        ],
      });
      await vi.waitFor(
        () => expect(running?.routes().routes.map((r) => r.key)).toContain(`${ns.name}/${name}`),
        WAIT,
      );
      // The first poll is done (it writes Active): the next scheduled one is pollingInterval away.
      await vi.waitFor(
        async () => expect(conditionOf(await readScaledObject(kc, ns.name, name), 'Active')).toBeDefined(),
        WAIT,
      );
    },
  };
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Sent {
  readonly req: ClientRequest;
  readonly answer: Promise<Answer>;
  /** Whether the answer (or an error) came. */
  settled(): boolean;
}

/**
 * Client requests to an activator, each with `Host: <host>`, that the caller may abort
 * (`req.destroy()`); those still open at the end are in `open` (destroy them in afterAll).
 */
export class ClientRequests {
  readonly open = new Set<ClientRequest>();

  start(
    base: string,
    host: string,
    opts: { path?: string; agent?: Agent | false; timeoutMs: number; headers?: Record<string, string> },
  ): Sent {
    const { path = '/', agent = false, timeoutMs } = opts;
    let done = false;
    let req: ClientRequest | undefined;
    const answer = new Promise<Answer>((resolve, reject) => {
      req = httpRequest(
        new URL(path, base),
        { headers: { ...opts.headers, host }, agent, timeout: timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req?.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    }).finally(() => {
      done = true;
      if (req !== undefined) this.open.delete(req);
    });
    if (req === undefined) throw new Error('unreachable: the request is created synchronously');
    this.open.add(req);
    // A case that fails before awaiting it must not leave an unhandled rejection behind.
    answer.catch(() => undefined);
    return { req, answer, settled: () => done };
  }

  destroyAll(): void {
    for (const req of this.open) req.destroy();
  }
}
