// The Kubernetes adapter: every port the controller needs, wired to one API server.
import { z } from 'zod';
import { API_VERSION, GROUP, VERSION } from '../../api/scaledobject.ts';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logging.ts';
import type { AdapterEndpoint, PlatformResult } from '../ports.ts';
import { KubeClient, type KubeClientOptions, loadKubeConfig } from './client.ts';
import { KubeEventRecorder } from './events.ts';
import { KubeHpaWriter } from './hpa.ts';
import type { RestConfig } from './kubeconfig.ts';
import { type KubeAdapterEndpointOptions, KubeAdapterEndpointWriter } from './leader-endpoints.ts';
import { KubeLeaseLock } from './lease.ts';
import { KubeScaleTarget } from './scale-target.ts';
import { KubeScaledObjectSource, KubeScaledObjectWriter } from './scaledobjects.ts';
import { KubeTokenReviewer } from './token-review.ts';
import { KubeTriggerAuthResolver } from './trigger-auth.ts';

export { KubeClient, type KubeClientOptions, loadKubeConfig, userAgent } from './client.ts';
export { DEFAULT_STATUS_BURST, DEFAULT_STATUS_QPS } from './rate-limit.ts';

export interface KubernetesPlatformOptions {
  /** A kubeconfig file; default $KUBECONFIG, ~/.kube/config, or in-cluster. */
  readonly kubeconfig?: string | undefined;
  /** An already loaded config (tests). Wins over `kubeconfig`. */
  readonly kubeConfig?: RestConfig;
  /** Every adapter's timers and times (request timeouts, watch backoff, Events); default realClock. */
  readonly clock?: Clock | undefined;
  /** Watch one namespace; undefined: all. */
  readonly namespace?: string | undefined;
  /** Where ClusterTriggerAuthentications read their Secrets (`--cluster-object-namespace`); default ebb-system. */
  readonly clusterObjectNamespace?: string | undefined;
  /** This controller's identity (Events' reportingInstance, the Lease holder). */
  readonly identity: string;
  readonly log: Logger;
  readonly eventRefreshMs?: number;
  readonly scaleResyncMs?: number;
  /** The client's User-Agent and status-write pacing (`--status-write-qps`, `--status-write-burst`). */
  readonly client?: KubeClientOptions;
}

export interface KubernetesPlatform {
  readonly client: KubeClient;
  /** The kubeconfig context in use and its server, for messages. */
  readonly context: string;
  readonly source: KubeScaledObjectSource;
  readonly scaleTarget: KubeScaleTarget;
  readonly writer: KubeScaledObjectWriter;
  readonly events: KubeEventRecorder;
  /** (Cluster)TriggerAuthentications and their Secrets; watches start with `start()`, stop on close. */
  readonly triggerAuth: KubeTriggerAuthResolver;
  /** autoscaling/v2 HPAs of ScaledObjects in HPA mode. */
  readonly hpa: KubeHpaWriter;
  /** TokenReviews: who sent an activator's report. */
  readonly tokenReviewer: KubeTokenReviewer;
  lease(namespace: string, name: string): KubeLeaseLock;
  /** The leader's endpoint of the adapter's selector-less Service (`ebb run --adapter-service`). */
  adapterEndpoint(endpoint: AdapterEndpoint, opts?: KubeAdapterEndpointOptions): KubeAdapterEndpointWriter;
  /** GET /version: is an API server there at all? */
  reachable(): Promise<PlatformResult<{ server: string; version: string }>>;
  /** Is the ScaledObject CRD installed (its group-version served)? */
  crdInstalled(): Promise<PlatformResult<boolean>>;
  close(): Promise<void>;
}

const VersionSchema = z.object({ gitVersion: z.string() });

export const kubernetesPlatform = (opts: KubernetesPlatformOptions): KubernetesPlatform => {
  const kc = opts.kubeConfig ?? loadKubeConfig(opts.kubeconfig);
  const client = new KubeClient(kc, opts.clock, opts.client);
  const source = new KubeScaledObjectSource(client, opts.namespace, opts.log);
  const scaleTarget = new KubeScaleTarget(client, {
    namespace: opts.namespace,
    log: opts.log,
    ...(opts.scaleResyncMs === undefined ? {} : { resyncMs: opts.scaleResyncMs }),
  });
  const writer = new KubeScaledObjectWriter(client);
  const events = new KubeEventRecorder(client, {
    instance: opts.identity,
    log: opts.log,
    ...(opts.eventRefreshMs === undefined ? {} : { refreshMs: opts.eventRefreshMs }),
  });
  const triggerAuth = new KubeTriggerAuthResolver(client, {
    namespace: opts.namespace,
    clusterNamespace: opts.clusterObjectNamespace,
    log: opts.log,
  });
  return {
    client,
    context: kc.context,
    source,
    scaleTarget,
    writer,
    events,
    triggerAuth,
    hpa: new KubeHpaWriter(client),
    tokenReviewer: new KubeTokenReviewer(client),
    lease: (namespace, name) => new KubeLeaseLock(client, namespace, name),
    adapterEndpoint: (endpoint, o) => new KubeAdapterEndpointWriter(client, endpoint, o),
    async reachable() {
      const res = await client.request('GET', '/version', { timeoutMs: 5_000 });
      if (!res.ok) return res;
      const v = VersionSchema.safeParse(res.value);
      return {
        ok: true,
        value: { server: client.server, version: v.success ? v.data.gitVersion : 'unknown' },
      };
    },
    async crdInstalled() {
      const res = await client.request('GET', `/apis/${GROUP}/${VERSION}`, { timeoutMs: 5_000 });
      if (res.ok) return { ok: true, value: true };
      return res.error.status === 404 ? { ok: true, value: false } : res;
    },
    async close() {
      await source.stop();
      await triggerAuth.stop();
      await scaleTarget.close();
      await events.close();
      await client.close();
    },
  };
};

/** The apiVersion Events and status writes name ScaledObjects by. */
export const SCALED_OBJECT_API_VERSION = API_VERSION;
