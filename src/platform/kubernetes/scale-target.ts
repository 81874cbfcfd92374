// ScaleTarget over the `/scale` subresource of any scalable kind, found through discovery.
//
// Replicas cache (why: 10,000 ScaledObjects polled every second would otherwise be 10,000
// GET /scale per second). Per target resource type (group/version/plural) in the watched
// scope (one namespace or all) we run one informer, started by the first read of that type:
// - apps/v1 Deployment, StatefulSet, ReplicaSet and v1 ReplicationController: their
//   `spec.replicas` IS the /scale value, so a read is a lookup in the informer's cache.
// - any other kind (custom resources keep replicas at a path only their CRD knows): the
//   informer only tells us *that* an object changed; the entry goes stale and the next read
//   GETs /scale once. Entries are also re-read after `resyncMs` (default 10 min) as a safety
//   net, and on every read while the informer is not synced (starting, or no RBAC to watch).
// - ebb's own writes are remembered with the resourceVersion the server returned, and win
//   over an informer copy that is older (the watch event may trail the PATCH response).
//   resourceVersions are etcd revisions; we compare them as integers when they parse as
//   such, which every kube-apiserver backed by etcd does.

import { z } from 'zod';
import { ScaleTargetNotFound } from '../../api/reasons.ts';
import type { Logger } from '../../logging.ts';
import {
  keyOf,
  type PlatformError,
  type PlatformResult,
  type ScaleTarget,
  type TargetRef,
} from '../ports.ts';
import { apiVersionPath, type KubeClient, MERGE_PATCH } from './client.ts';
import { Discovery, type ResourceInfo } from './discovery.ts';
import { ResilientInformer } from './informer.ts';
import type { KubernetesObject } from './object.ts';
import { InFlightLimit } from './rate-limit.ts';

/** How long the first reads of a target type wait for its informer's list before GET /scale. */
const SYNC_WAIT_MS = 5_000;
/**
 * GET /scale reads in flight at once; the rest wait in FIFO order holding only their turn, and
 * look in the cache again when it comes. At 50,000 objects the Deployments' first list outlasts
 * SYNC_WAIT_MS on a busy API server, and every first poll then GET /scale: 13,000 requests in
 * flight within 5 s took the controller's heap from 400 to 600 MB (and out of a 768 MB limit).
 */
export const MAX_SCALE_READS = 32;

/** Kinds whose object `spec.replicas` equals their /scale `spec.replicas`. */
const REPLICAS_IN_SPEC: ReadonlySet<string> = new Set([
  'apps/v1/Deployment',
  'apps/v1/StatefulSet',
  'apps/v1/ReplicaSet',
  'v1/ReplicationController',
]);

const ScaleSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional() }).optional(),
  // autoscaling/v1 ScaleSpec.replicas is `omitempty`: absent means 0.
  spec: z.object({ replicas: z.number().int().optional() }).optional(),
});
const SpecReplicasSchema = z.object({
  // Deployments and friends default replicas to 1 on admission; absent only in odd objects.
  spec: z.object({ replicas: z.number().int().optional() }).optional(),
});

interface Entry {
  replicas: number;
  fetchedAt: number;
  stale: boolean;
}

interface OwnWrite {
  readonly replicas: number;
  readonly resourceVersion: number;
}

interface TypeCache {
  readonly info: ResourceInfo;
  readonly informer: ResilientInformer;
  /** Settles when the informer first synced, or after SYNC_WAIT_MS, whichever comes first. */
  readonly firstSync: Promise<void>;
  readonly replicasInSpec: boolean;
  /** GET /scale results, for kinds whose informer object does not carry replicas. */
  readonly entries: Map<string, Entry>;
  readonly ownWrites: Map<string, OwnWrite>;
}

export interface KubeScaleTargetOptions {
  /** Watch targets in this namespace only; undefined: all namespaces. */
  readonly namespace?: string | undefined;
  readonly resyncMs?: number;
  readonly now?: () => number;
  readonly log: Logger;
}

export class KubeScaleTarget implements ScaleTarget {
  private readonly discovery: Discovery;
  private readonly types = new Map<string, TypeCache>();
  private readonly now: () => number;
  private readonly resyncMs: number;
  /** GET /scale reads in flight, and those waiting for a place. */
  private readonly reads = new InFlightLimit(MAX_SCALE_READS);

  constructor(
    private readonly client: KubeClient,
    private readonly opts: KubeScaleTargetOptions,
  ) {
    this.now = opts.now ?? (() => client.clock.wallNow());
    this.resyncMs = opts.resyncMs ?? 600_000;
    this.discovery = new Discovery(client, 10_000, this.now);
  }

  async replicas(ref: TargetRef): Promise<PlatformResult<number>> {
    const type = await this.typeFor(ref);
    if (!type.ok) return type;
    const t = type.value;
    // At start, wait (briefly) for the list rather than GET /scale for every target.
    if (!t.informer.hasSynced) await t.firstSync;
    const cached = this.cached(t, ref);
    if (cached !== undefined) return cached;
    const turn = this.reads.take();
    if (turn !== undefined) await turn;
    try {
      // The list may have landed while this read waited for its turn.
      return this.cached(t, ref) ?? (await this.fetch(t, ref));
    } finally {
      this.reads.done();
    }
  }

  /** The replicas from the informer's cache or a fresh GET /scale entry; undefined: GET /scale. */
  private cached(t: TypeCache, ref: TargetRef): PlatformResult<number> | undefined {
    const key = keyOf(ref);
    if (t.informer.hasSynced && t.replicasInSpec) {
      const obj = t.informer.get(ref.name, ref.namespace);
      if (obj === undefined) return notFound(ref);
      const own = t.ownWrites.get(key);
      if (own !== undefined) {
        if (rvNumber(obj) < own.resourceVersion) return { ok: true, value: own.replicas };
        t.ownWrites.delete(key);
      }
      const parsed = SpecReplicasSchema.safeParse(obj);
      return { ok: true, value: parsed.success ? (parsed.data.spec?.replicas ?? 1) : 1 };
    }
    const entry = t.entries.get(key);
    if (
      entry !== undefined &&
      t.informer.hasSynced &&
      !entry.stale &&
      this.now() - entry.fetchedAt < this.resyncMs
    ) {
      return { ok: true, value: entry.replicas };
    }
    return undefined;
  }

  async scale(ref: TargetRef, replicas: number): Promise<PlatformResult<number>> {
    const type = await this.typeFor(ref);
    if (!type.ok) return type;
    const t = type.value;
    const res = await this.client.request('PATCH', scalePath(t.info, ref), {
      body: { spec: { replicas } },
      contentType: MERGE_PATCH,
    });
    if (!res.ok) return res.error.status === 404 ? notFound(ref) : res;
    const scale = ScaleSchema.safeParse(res.value);
    const value = scale.success ? (scale.data.spec?.replicas ?? 0) : replicas;
    const rv = Number(scale.success ? scale.data.metadata?.resourceVersion : Number.NaN);
    const key = keyOf(ref);
    if (Number.isFinite(rv)) t.ownWrites.set(key, { replicas: value, resourceVersion: rv });
    if (!t.replicasInSpec) t.entries.set(key, { replicas: value, fetchedAt: this.now(), stale: false });
    return { ok: true, value };
  }

  forget(ref: TargetRef): void {
    const t = this.types.get(`${ref.apiVersion}/${ref.kind}`);
    t?.entries.delete(keyOf(ref));
    t?.ownWrites.delete(keyOf(ref));
  }

  async close(): Promise<void> {
    await Promise.all([...this.types.values()].map((t) => t.informer.stop()));
    this.types.clear();
  }

  private async fetch(t: TypeCache, ref: TargetRef): Promise<PlatformResult<number>> {
    const res = await this.client.request('GET', scalePath(t.info, ref));
    if (!res.ok) return res.error.status === 404 ? notFound(ref) : res;
    const scale = ScaleSchema.safeParse(res.value);
    const replicas = scale.success ? (scale.data.spec?.replicas ?? 0) : 0;
    t.entries.set(keyOf(ref), { replicas, fetchedAt: this.now(), stale: false });
    return { ok: true, value: replicas };
  }

  private async typeFor(ref: TargetRef): Promise<PlatformResult<TypeCache>> {
    const typeKey = `${ref.apiVersion}/${ref.kind}`;
    const existing = this.types.get(typeKey);
    if (existing !== undefined) return { ok: true, value: existing };
    const info = await this.discovery.scalable(ref.apiVersion, ref.kind);
    if (!info.ok) return info;
    const again = this.types.get(typeKey);
    if (again !== undefined) return { ok: true, value: again };
    const entries = new Map<string, Entry>();
    const markStale = (o: KubernetesObject) => {
      const e = entries.get(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
      if (e !== undefined) e.stale = true;
    };
    const replicasInSpec = REPLICAS_IN_SPEC.has(typeKey);
    const informer = new ResilientInformer(this.client, {
      path: collectionPath(info.value, this.opts.namespace),
      handlers: { add: markStale, update: markStale, delete: markStale },
      log: this.opts.log,
      // Keep what a replicas lookup needs: name, namespace, resourceVersion, spec.replicas.
      transform: (o) => keepReplicasOnly(o, replicasInSpec),
    });
    const t: TypeCache = {
      info: info.value,
      informer,
      firstSync: Promise.race([
        informer.synced(),
        new Promise<void>((resolve) => this.client.clock.after(SYNC_WAIT_MS, resolve).unref()),
      ]),
      replicasInSpec,
      entries,
      ownWrites: new Map(),
    };
    this.types.set(typeKey, t);
    void informer.start();
    return { ok: true, value: t };
  }
}

/** Trims a cached target to the fields a replicas lookup reads (in place, see informer.ts). */
const keepReplicasOnly = (o: KubernetesObject, replicasInSpec: boolean): void => {
  const obj = o as { metadata?: Record<string, unknown>; spec?: { replicas?: unknown }; status?: unknown };
  const meta = obj.metadata;
  if (meta !== undefined) {
    for (const key of Object.keys(meta)) {
      if (key !== 'name' && key !== 'namespace' && key !== 'resourceVersion' && key !== 'uid')
        delete meta[key];
    }
  }
  const replicas = obj.spec?.replicas;
  obj.spec = replicasInSpec && typeof replicas === 'number' ? { replicas } : {};
  delete obj.status;
};

const rvNumber = (o: KubernetesObject): number => {
  const n = Number(o.metadata?.resourceVersion);
  return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
};

const notFound = (ref: TargetRef): { ok: false; error: PlatformError & { status: number } } => ({
  ok: false,
  error: {
    reason: ScaleTargetNotFound,
    message: `${ref.kind} ${ref.namespace}/${ref.name} (${ref.apiVersion}) not found`,
    status: 404,
  },
});

const collectionPath = (info: ResourceInfo, namespace: string | undefined): string =>
  info.namespaced && namespace !== undefined
    ? `${apiVersionPath(info.apiVersion)}/namespaces/${encodeURIComponent(namespace)}/${info.plural}`
    : `${apiVersionPath(info.apiVersion)}/${info.plural}`;

const scalePath = (info: ResourceInfo, ref: TargetRef): string =>
  info.namespaced
    ? `${apiVersionPath(info.apiVersion)}/namespaces/${encodeURIComponent(ref.namespace)}/${info.plural}/${encodeURIComponent(ref.name)}/scale`
    : `${apiVersionPath(info.apiVersion)}/${info.plural}/${encodeURIComponent(ref.name)}/scale`;
