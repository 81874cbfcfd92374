// LeaseLock on a coordination.k8s.io/v1 Lease: get, create, and update guarded by
// resourceVersion. The election logic itself is src/controller/leader-election.ts.

import { z } from 'zod';
import { InvalidLease } from '../../api/reasons.ts';
import {
  Conflict,
  type LeaseLock,
  type LeaseRecord,
  type PlatformResult,
  type VersionedLease,
} from '../ports.ts';
import type { KubeClient } from './client.ts';

const LeaseSchema = z.object({
  metadata: z.object({ resourceVersion: z.string() }),
  spec: z
    .object({
      holderIdentity: z.string().nullish(),
      leaseDurationSeconds: z.number().int().nullish(),
      acquireTime: z.string().nullish(),
      renewTime: z.string().nullish(),
      leaseTransitions: z.number().int().nullish(),
    })
    .nullish(),
});

export class KubeLeaseLock implements LeaseLock {
  readonly description: string;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.description = `${namespace}/${name}`;
  }

  private get collection(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/leases`;
  }

  async get(): Promise<PlatformResult<VersionedLease | undefined>> {
    const res = await this.client.request('GET', `${this.collection}/${encodeURIComponent(this.name)}`, {
      timeoutMs: 5_000,
      exempt: true,
    });
    if (!res.ok) return res.error.status === 404 ? { ok: true, value: undefined } : res;
    return parseLease(res.value);
  }

  async create(record: LeaseRecord): Promise<PlatformResult<VersionedLease>> {
    const res = await this.client.request('POST', this.collection, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.namespace },
        spec: toSpec(record),
      },
      timeoutMs: 5_000,
      exempt: true,
    });
    if (!res.ok) return res.error.status === 409 ? conflict(res.error.message) : res;
    return parseLease(res.value);
  }

  async update(record: LeaseRecord, version: string): Promise<PlatformResult<VersionedLease>> {
    const res = await this.client.request('PUT', `${this.collection}/${encodeURIComponent(this.name)}`, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: this.namespace, resourceVersion: version },
        spec: toSpec(record),
      },
      timeoutMs: 5_000,
      exempt: true,
    });
    if (!res.ok) return res.error.status === 409 ? conflict(res.error.message) : res;
    return parseLease(res.value);
  }
}

const conflict = (message: string) => ({
  ok: false as const,
  error: { reason: Conflict, message, status: 409 },
});

const toSpec = (r: LeaseRecord) => ({
  holderIdentity: r.holderIdentity,
  leaseDurationSeconds: r.leaseDurationSeconds,
  acquireTime: r.acquireTime === undefined ? null : microTime(r.acquireTime),
  renewTime: r.renewTime === undefined ? null : microTime(r.renewTime),
  leaseTransitions: r.leaseTransitions,
});

const parseLease = (raw: unknown): PlatformResult<VersionedLease> => {
  const parsed = LeaseSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: { reason: InvalidLease, message: parsed.error.message } };
  const spec = parsed.data.spec ?? {};
  return {
    ok: true,
    value: {
      version: parsed.data.metadata.resourceVersion,
      record: {
        holderIdentity: spec.holderIdentity ?? '',
        leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
        acquireTime: parseTime(spec.acquireTime),
        renewTime: parseTime(spec.renewTime),
        leaseTransitions: spec.leaseTransitions ?? 0,
      },
    },
  };
};

const parseTime = (s: string | null | undefined): number | undefined => {
  if (s === null || s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
};

const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
