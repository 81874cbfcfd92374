// HpaWriter over autoscaling/v2 HorizontalPodAutoscalers (HPA mode, docs/hpa-mode.md).
//
// "Write only when it differs": the API server defaults an HPA's behavior and rewrites
// quantities ("20000" reads back as "20k"), so comparing the live object with ours field by
// field would see differences that are not there. Instead each HPA carries a hash of what ebb
// rendered (annotation autoscaling.ebb.dev/hpa-spec-hash); a different hash, a different owner
// or a different scaleTargetRef/min/max (someone edited it) means a PUT. No watch: reads are
// one GET (ensure, delete) or one LIST of the namespace's HPAs (findForTarget), on reconcile.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApiError, HPAConflict } from '../../api/reasons.ts';
import {
  Conflict,
  type HpaDefinition,
  type HpaEnsured,
  type HpaInfo,
  type HpaWriter,
  type PlatformResult,
  type TargetRef,
} from '../ports.ts';
import type { KubeClient } from './client.ts';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'ebb';
export const SPEC_HASH_ANNOTATION = 'autoscaling.ebb.dev/hpa-spec-hash';

const collectionPath = (namespace: string): string =>
  `/apis/autoscaling/v2/namespaces/${encodeURIComponent(namespace)}/horizontalpodautoscalers`;
const objectPath = (namespace: string, name: string): string =>
  `${collectionPath(namespace)}/${encodeURIComponent(name)}`;

const OwnerReferenceSchema = z.object({
  uid: z.string(),
  controller: z.boolean().optional(),
});
const HpaSchema = z.object({
  metadata: z.object({
    name: z.string(),
    uid: z.string().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    ownerReferences: z.array(OwnerReferenceSchema).optional(),
  }),
  spec: z.object({
    scaleTargetRef: z.object({
      apiVersion: z.string().optional(),
      kind: z.string(),
      name: z.string(),
    }),
    minReplicas: z.number().int().optional(),
    maxReplicas: z.number().int(),
  }),
});
type LiveHpa = z.infer<typeof HpaSchema>;
const HpaListSchema = z.object({ items: z.array(z.unknown()).nullish() });

/** A metric target as a Kubernetes quantity: whole numbers as they are, else milli-units (KEDA). */
export const toQuantity = (value: number): string => {
  const milli = Math.round(value * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
};

const groupOf = (apiVersion: string | undefined): string => {
  const slash = (apiVersion ?? '').indexOf('/');
  return slash < 0 ? '' : (apiVersion ?? '').slice(0, slash);
};

/** The HPA controller resolves scaleTargetRef by group and kind; versions of one group are one target. */
const targets = (hpa: LiveHpa, target: TargetRef): boolean =>
  hpa.spec.scaleTargetRef.kind === target.kind &&
  hpa.spec.scaleTargetRef.name === target.name &&
  groupOf(hpa.spec.scaleTargetRef.apiVersion) === groupOf(target.apiVersion);

const controllerUid = (hpa: LiveHpa): string | undefined =>
  hpa.metadata.ownerReferences?.find((o) => o.controller === true)?.uid;

/** The autoscaling/v2 spec ebb renders for a definition. */
export const hpaSpecOf = (def: HpaDefinition): Record<string, unknown> => ({
  scaleTargetRef: { apiVersion: def.target.apiVersion, kind: def.target.kind, name: def.target.name },
  minReplicas: def.minReplicas,
  maxReplicas: def.maxReplicas,
  metrics: def.metrics.map((m) => ({
    type: 'External',
    external: {
      metric: { name: m.name, selector: { matchLabels: { ...def.metricSelector } } },
      target:
        m.metricType === 'Value'
          ? { type: 'Value', value: toQuantity(m.target) }
          : { type: 'AverageValue', averageValue: toQuantity(m.target) },
    },
  })),
  ...(def.behavior === undefined ? {} : { behavior: def.behavior }),
});

const ownerReferenceOf = (def: HpaDefinition) => ({
  apiVersion: def.owner.apiVersion,
  kind: def.owner.kind,
  name: def.owner.name,
  uid: def.owner.uid,
  controller: true,
});

const hashOf = (spec: Record<string, unknown>, def: HpaDefinition): string =>
  createHash('sha256')
    .update(JSON.stringify([spec, ownerReferenceOf(def)]))
    .digest('hex')
    .slice(0, 16);

/** The whole object, keeping labels and annotations others put on an existing one. */
const render = (def: HpaDefinition, existing: LiveHpa | undefined): Record<string, unknown> => {
  const spec = hpaSpecOf(def);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name: def.name,
      namespace: def.owner.namespace,
      labels: { ...existing?.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: { ...existing?.metadata.annotations, [SPEC_HASH_ANNOTATION]: hashOf(spec, def) },
      ownerReferences: [ownerReferenceOf(def)],
      ...(existing?.metadata.resourceVersion === undefined
        ? {}
        : { resourceVersion: existing.metadata.resourceVersion }),
    },
    spec,
  };
};

/** Ours and as rendered: nothing to write. min/max/target are checked too (hand edits). */
const upToDate = (live: LiveHpa, def: HpaDefinition): boolean =>
  live.metadata.annotations?.[SPEC_HASH_ANNOTATION] === hashOf(hpaSpecOf(def), def) &&
  live.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
  live.spec.minReplicas === def.minReplicas &&
  live.spec.maxReplicas === def.maxReplicas &&
  targets(live, def.target) &&
  live.spec.scaleTargetRef.apiVersion === def.target.apiVersion;

export class KubeHpaWriter implements HpaWriter {
  constructor(private readonly client: KubeClient) {}

  async findForTarget(target: TargetRef): Promise<PlatformResult<HpaInfo[]>> {
    const res = await this.client.request('GET', collectionPath(target.namespace));
    if (!res.ok) return res;
    const list = HpaListSchema.safeParse(res.value);
    const found: HpaInfo[] = [];
    for (const item of list.success ? (list.data.items ?? []) : []) {
      const hpa = HpaSchema.safeParse(item);
      if (hpa.success && targets(hpa.data, target))
        found.push({ name: hpa.data.metadata.name, controllerUid: controllerUid(hpa.data) });
    }
    return { ok: true, value: found };
  }

  async ensure(def: HpaDefinition): Promise<PlatformResult<HpaEnsured>> {
    const namespace = def.owner.namespace;
    const got = await this.get(namespace, def.name);
    if (!got.ok) return got;
    const live = got.value;
    if (live === undefined) {
      const res = await this.client.request('POST', collectionPath(namespace), {
        body: render(def, undefined),
        discardBody: true,
      });
      return res.ok ? { ok: true, value: 'created' } : res;
    }
    if (controllerUid(live) !== def.owner.uid) {
      return {
        ok: false,
        error: {
          reason: HPAConflict,
          message: `an HPA of that name exists and ScaledObject ${namespace}/${def.owner.name} does not own it`,
          status: 409,
        },
      };
    }
    if (upToDate(live, def)) return { ok: true, value: 'unchanged' };
    // PUT with the resourceVersion read: a concurrent change fails with Conflict (retried).
    const res = await this.client.request('PUT', objectPath(namespace, def.name), {
      body: render(def, live),
      discardBody: true,
    });
    return res.ok ? { ok: true, value: 'updated' } : res;
  }

  async delete(namespace: string, name: string, ownerUid: string): Promise<PlatformResult<boolean>> {
    const got = await this.get(namespace, name);
    if (!got.ok) return got;
    const live = got.value;
    if (live === undefined || controllerUid(live) !== ownerUid) return { ok: true, value: false };
    // The uid precondition: never delete a namesake created since the GET.
    const res = await this.client.request('DELETE', objectPath(namespace, name), {
      body: { preconditions: { uid: live.metadata.uid } },
      discardBody: true,
    });
    if (res.ok) return { ok: true, value: true };
    if (res.error.status === 404 || res.error.reason === Conflict) return { ok: true, value: false };
    return res;
  }

  private async get(namespace: string, name: string): Promise<PlatformResult<LiveHpa | undefined>> {
    const res = await this.client.request('GET', objectPath(namespace, name));
    if (!res.ok) return res.error.status === 404 ? { ok: true, value: undefined } : res;
    const hpa = HpaSchema.safeParse(res.value);
    if (!hpa.success) {
      return {
        ok: false,
        error: {
          reason: ApiError,
          message: `HPA ${namespace}/${name}: unexpected object from the API server`,
        },
      };
    }
    return { ok: true, value: hpa.data };
  }
}
