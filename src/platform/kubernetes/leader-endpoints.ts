// AdapterEndpointWriter on the API server: the external-metrics adapter's Service has no
// selector, and the leader keeps its endpoints pointing at itself, so the aggregator's
// connections never land on a standby (which holds no readings and answers 503).
//
// - EndpointSlice `<service>-leader` (label kubernetes.io/service-name, managed-by ebb) with one
//   ready endpoint, the pod's IP, and one port named `https`: the aggregator (since 1.33) and
//   kube-proxy read it.
// - Kubernetes < 1.33 reads v1 Endpoints for APIService availability and aggregator routing
//   (kubernetes#129837 moved it to EndpointSlices in 1.33), and nothing mirrors a slice into
//   Endpoints; there the writer also keeps the Endpoints object named as the Service, labelled
//   skip-mirror so the mirroring controller does not make a second slice of it.
// - "Mine" = the holder annotation names this process's lease identity AND the only address is
//   this pod's. A new leader overwrites regardless; a leaving one deletes only what is still
//   its own, with preconditions (uid, resourceVersion) so a successor's write between the read
//   and the delete turns the delete into a 409 instead of removing the successor's endpoint.

import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidEndpoint } from '../../api/reasons.ts';
import {
  type AdapterEndpoint,
  type AdapterEndpointWriter,
  Conflict,
  type EndpointPublished,
  type PlatformResult,
} from '../ports.ts';
import type { KubeClient } from './client.ts';
import { SERVICE_NAME_LABEL } from './endpoints.ts';

export const HOLDER_ANNOTATION = 'autoscaling.ebb.dev/adapter-endpoint-holder';
export const SLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const ENDPOINTS_MANAGED_BY_LABEL = 'endpoints.kubernetes.io/managed-by';
export const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';
export const MANAGED_BY = 'ebb.autoscaling.ebb.dev';
/** The Service port's name the aggregator looks the slice port up by. */
export const ADAPTER_PORT_NAME = 'https';
/** The first minor version whose aggregator reads EndpointSlices instead of Endpoints. */
export const FIRST_SLICE_AGGREGATOR_MINOR = 33;

export const leaderSliceName = (service: string): string => `${service}-leader`;

const addressTypeOf = (address: string): 'IPv4' | 'IPv6' => (isIP(address) === 6 ? 'IPv6' : 'IPv4');

const targetRefOf = (e: AdapterEndpoint) =>
  e.podName === undefined ? {} : { targetRef: { kind: 'Pod', namespace: e.namespace, name: e.podName } };

export const renderLeaderSlice = (e: AdapterEndpoint): Record<string, unknown> => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: {
    name: leaderSliceName(e.service),
    namespace: e.namespace,
    labels: { [SERVICE_NAME_LABEL]: e.service, [SLICE_MANAGED_BY_LABEL]: MANAGED_BY },
    annotations: { [HOLDER_ANNOTATION]: e.holder },
  },
  addressType: addressTypeOf(e.address),
  endpoints: [{ addresses: [e.address], conditions: { ready: true }, ...targetRefOf(e) }],
  ports: [{ name: ADAPTER_PORT_NAME, port: e.port, protocol: 'TCP' }],
});

export const renderLegacyEndpoints = (e: AdapterEndpoint): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: {
    name: e.service,
    namespace: e.namespace,
    labels: { [SKIP_MIRROR_LABEL]: 'true', [ENDPOINTS_MANAGED_BY_LABEL]: MANAGED_BY },
    annotations: { [HOLDER_ANNOTATION]: e.holder },
  },
  subsets: [
    {
      addresses: [{ ip: e.address, ...targetRefOf(e) }],
      ports: [{ name: ADAPTER_PORT_NAME, port: e.port, protocol: 'TCP' }],
    },
  ],
});

// ---- reading live objects back (the same schemas read what we render) ----

const MetaSchema = z.object({
  name: z.string(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).nullish(),
  annotations: z.record(z.string(), z.string()).nullish(),
});
const TargetRefSchema = z.object({ name: z.string().nullish() }).nullish();
const PortSchema = z.object({
  name: z.string().nullish(),
  port: z.number().int().nullish(),
  protocol: z.string().nullish(),
});
const SliceSchema = z.object({
  metadata: MetaSchema,
  addressType: z.string().nullish(),
  endpoints: z
    .array(
      z.object({
        addresses: z.array(z.string()),
        conditions: z.object({ ready: z.boolean().nullish() }).nullish(),
        targetRef: TargetRefSchema,
      }),
    )
    .nullish(),
  ports: z.array(PortSchema).nullish(),
});
const EndpointsSchema = z.object({
  metadata: MetaSchema,
  subsets: z
    .array(
      z.object({
        addresses: z.array(z.object({ ip: z.string(), targetRef: TargetRefSchema })).nullish(),
        notReadyAddresses: z.array(z.object({ ip: z.string() })).nullish(),
        ports: z.array(PortSchema).nullish(),
      }),
    )
    .nullish(),
});

/** What ebb owns of an object, normalized (API defaults filled), to compare and to judge ownership. */
interface Held {
  readonly meta: z.infer<typeof MetaSchema>;
  readonly holder: string | undefined;
  /** Ready addresses, in order. */
  readonly addresses: readonly string[];
  /** Everything ebb renders, as one string: equal means "no write needed". */
  readonly fingerprint: string;
}

const portsKey = (ports: readonly z.infer<typeof PortSchema>[] | null | undefined) =>
  (ports ?? []).map((p) => [p.name ?? '', p.port ?? 0, p.protocol ?? 'TCP']);

const heldSlice = (raw: unknown): Held | undefined => {
  const s = SliceSchema.safeParse(raw);
  if (!s.success) return undefined;
  const { metadata, endpoints } = s.data;
  const ready = (endpoints ?? []).filter((ep) => ep.conditions?.ready !== false);
  return {
    meta: metadata,
    holder: metadata.annotations?.[HOLDER_ANNOTATION],
    addresses: ready.flatMap((ep) => ep.addresses),
    fingerprint: JSON.stringify([
      metadata.labels?.[SERVICE_NAME_LABEL],
      metadata.labels?.[SLICE_MANAGED_BY_LABEL],
      metadata.annotations?.[HOLDER_ANNOTATION],
      s.data.addressType,
      (endpoints ?? []).map((ep) => [ep.addresses, ep.conditions?.ready ?? true, ep.targetRef?.name ?? '']),
      portsKey(s.data.ports),
    ]),
  };
};

const heldEndpoints = (raw: unknown): Held | undefined => {
  const s = EndpointsSchema.safeParse(raw);
  if (!s.success) return undefined;
  const { metadata, subsets } = s.data;
  return {
    meta: metadata,
    holder: metadata.annotations?.[HOLDER_ANNOTATION],
    addresses: (subsets ?? []).flatMap((ss) => (ss.addresses ?? []).map((a) => a.ip)),
    fingerprint: JSON.stringify([
      metadata.labels?.[SKIP_MIRROR_LABEL],
      metadata.labels?.[ENDPOINTS_MANAGED_BY_LABEL],
      metadata.annotations?.[HOLDER_ANNOTATION],
      (subsets ?? []).map((ss) => [
        (ss.addresses ?? []).map((a) => [a.ip, a.targetRef?.name ?? '']),
        (ss.notReadyAddresses ?? []).map((a) => a.ip),
        portsKey(ss.ports),
      ]),
    ]),
  };
};

/** Is the live object still this process's endpoint (and no one else's)? */
const isMine = (held: Held, e: AdapterEndpoint): boolean =>
  held.holder === e.holder && held.addresses.length === 1 && held.addresses[0] === e.address;

/** A kind of object the writer keeps: where it lives, what ebb renders, how to read it back. */
interface Kept {
  readonly kind: string;
  readonly collection: string;
  readonly name: string;
  render(e: AdapterEndpoint): Record<string, unknown>;
  read(raw: unknown): Held | undefined;
}

const SLICE_KIND = 'EndpointSlice';
const ENDPOINTS_KIND = 'Endpoints';

const keptSlice = (e: AdapterEndpoint): Kept => ({
  kind: SLICE_KIND,
  collection: `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(e.namespace)}/endpointslices`,
  name: leaderSliceName(e.service),
  render: renderLeaderSlice,
  read: heldSlice,
});

const keptEndpoints = (e: AdapterEndpoint): Kept => ({
  kind: ENDPOINTS_KIND,
  collection: `/api/v1/namespaces/${encodeURIComponent(e.namespace)}/endpoints`,
  name: e.service,
  render: renderLegacyEndpoints,
  read: heldEndpoints,
});

/** The pure rules, for tests: is `raw` (an EndpointSlice or Endpoints) still `e`'s, up to date? */
export const judgeEndpoint = (
  kind: 'EndpointSlice' | 'Endpoints',
  raw: unknown,
  e: AdapterEndpoint,
): { mine: boolean; upToDate: boolean } | undefined => {
  const kept = kind === SLICE_KIND ? keptSlice(e) : keptEndpoints(e);
  const live = kept.read(raw);
  const ours = kept.read(kept.render(e));
  if (live === undefined || ours === undefined) return undefined;
  return { mine: isMine(live, e), upToDate: live.fingerprint === ours.fingerprint };
};

/** `{major: "1", minor: "32+"}` → does its aggregator still read v1 Endpoints? Unknown: yes (write both). */
export const needsLegacyEndpoints = (version: unknown): boolean => {
  const v = z.object({ major: z.string(), minor: z.string() }).safeParse(version);
  if (!v.success) return true;
  const major = Number.parseInt(v.data.major, 10);
  const minor = Number.parseInt(v.data.minor, 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return true;
  return major < 1 || (major === 1 && minor < FIRST_SLICE_AGGREGATOR_MINOR);
};

const ATTEMPTS = 3;
const TIMEOUT_MS = 5_000;

export interface KubeAdapterEndpointOptions {
  /** Also keep v1 Endpoints; default: when the server is older than 1.33 (read once from /version). */
  readonly legacyEndpoints?: boolean;
}

export class KubeAdapterEndpointWriter implements AdapterEndpointWriter {
  readonly description: string;
  private legacy: boolean | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly endpoint: AdapterEndpoint,
    opts: KubeAdapterEndpointOptions = {},
  ) {
    this.description = `${endpoint.namespace}/${endpoint.service}`;
    this.legacy = opts.legacyEndpoints;
  }

  async publish(): Promise<PlatformResult<EndpointPublished>> {
    const kept = await this.kept();
    if (!kept.ok) return kept;
    let outcome: EndpointPublished = 'unchanged';
    for (const k of kept.value) {
      const res = await this.publishOne(k);
      if (!res.ok) return res;
      if (k.kind === SLICE_KIND) outcome = res.value;
      else if (res.value !== 'unchanged' && outcome === 'unchanged') outcome = 'updated';
    }
    return { ok: true, value: outcome };
  }

  async withdraw(): Promise<PlatformResult<boolean>> {
    const kept = await this.kept();
    if (!kept.ok) return kept;
    let removed = false;
    for (const k of kept.value) {
      const res = await this.withdrawOne(k);
      if (!res.ok) return res;
      if (k.kind === SLICE_KIND) removed = res.value;
    }
    return { ok: true, value: removed };
  }

  private async kept(): Promise<PlatformResult<Kept[]>> {
    if (this.legacy === undefined) {
      const version = await this.client.request('GET', '/version', { timeoutMs: TIMEOUT_MS });
      if (!version.ok) return version;
      this.legacy = needsLegacyEndpoints(version.value);
    }
    const slice = keptSlice(this.endpoint);
    return { ok: true, value: this.legacy ? [slice, keptEndpoints(this.endpoint)] : [slice] };
  }

  private path(k: Kept): string {
    return `${k.collection}/${encodeURIComponent(k.name)}`;
  }

  /** GET, then nothing (same), POST (none) or PUT at the read version; a conflict reads again. */
  private async publishOne(k: Kept): Promise<PlatformResult<EndpointPublished>> {
    const body = k.render(this.endpoint);
    const ours = k.read(body);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const got = await this.client.request('GET', this.path(k), { timeoutMs: TIMEOUT_MS });
      if (!got.ok && got.error.status !== 404) return got;
      if (!got.ok) {
        const created = await this.client.request('POST', k.collection, { body, timeoutMs: TIMEOUT_MS });
        if (created.ok) return { ok: true, value: 'created' };
        if (created.error.status === 409) continue;
        return created;
      }
      const live = k.read(got.value);
      if (live === undefined) return invalid(k, this.description);
      if (live.fingerprint === ours?.fingerprint) return { ok: true, value: 'unchanged' };
      const meta = (body as { metadata: Record<string, Record<string, string>> }).metadata;
      const updated = await this.client.request('PUT', this.path(k), {
        body: {
          ...body,
          metadata: {
            ...meta,
            // Keep what others put there; ours wins on our keys.
            labels: { ...live.meta.labels, ...meta.labels },
            annotations: { ...live.meta.annotations, ...meta.annotations },
            resourceVersion: live.meta.resourceVersion,
          },
        },
        timeoutMs: TIMEOUT_MS,
      });
      if (updated.ok) return { ok: true, value: 'updated' };
      if (updated.error.status === 409 || updated.error.status === 404) continue;
      return updated;
    }
    return {
      ok: false,
      error: {
        reason: Conflict,
        message: `${k.kind} ${this.endpoint.namespace}/${k.name}: still changing after ${ATTEMPTS} attempts`,
        status: 409,
      },
    };
  }

  /** Deletes the object only while it is still ours, guarded by its uid and resourceVersion. */
  private async withdrawOne(k: Kept): Promise<PlatformResult<boolean>> {
    const got = await this.client.request('GET', this.path(k), { timeoutMs: TIMEOUT_MS });
    if (!got.ok) return got.error.status === 404 ? { ok: true, value: false } : got;
    const live = k.read(got.value);
    if (live === undefined) return invalid(k, this.description);
    if (!isMine(live, this.endpoint)) return { ok: true, value: false };
    const deleted = await this.client.request('DELETE', this.path(k), {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions: { uid: live.meta.uid, resourceVersion: live.meta.resourceVersion },
      },
      timeoutMs: TIMEOUT_MS,
      discardBody: true,
    });
    if (deleted.ok) return { ok: true, value: true };
    // 409: it changed since the read (a successor wrote it); 404: gone already.
    if (deleted.error.status === 409 || deleted.error.status === 404) return { ok: true, value: false };
    return deleted;
  }
}

const invalid = (k: Kept, service: string) => ({
  ok: false as const,
  error: {
    reason: InvalidEndpoint,
    message: `${k.kind} ${k.name} of Service ${service} is not a valid ${k.kind}`,
  },
});
