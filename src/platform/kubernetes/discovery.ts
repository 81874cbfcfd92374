// API discovery for scale targets: (apiVersion, kind) → resource plural, scope, and whether it
// has a `/scale` subresource. One GET per group-version, cached; a kind that is missing is
// looked up again (at most every `refreshMs`) so a CRD installed later is found.
import { z } from 'zod';
import { ScaleTargetNotFound, ScaleTargetNotScalable } from '../../api/reasons.ts';
import type { PlatformError, PlatformResult } from '../ports.ts';
import { apiVersionPath, type KubeClient } from './client.ts';

export interface ResourceInfo {
  readonly apiVersion: string;
  readonly kind: string;
  /** `deployments` */
  readonly plural: string;
  readonly namespaced: boolean;
}

const APIResourceListSchema = z.object({
  resources: z.array(
    z.looseObject({ name: z.string(), kind: z.string(), namespaced: z.boolean().optional() }),
  ),
});
type APIResource = z.infer<typeof APIResourceListSchema>['resources'][number];

interface Fetched {
  readonly at: number;
  readonly resources: readonly APIResource[];
}

export class Discovery {
  private readonly cache = new Map<string, Fetched>();
  private readonly inflight = new Map<string, Promise<PlatformResult<Fetched>>>();

  constructor(
    private readonly client: KubeClient,
    private readonly refreshMs = 10_000,
    private readonly now: () => number = () => client.clock.wallNow(),
  ) {}

  /** The scalable resource serving `kind` in `apiVersion`, or why there is none. */
  async scalable(apiVersion: string, kind: string): Promise<PlatformResult<ResourceInfo>> {
    let fetched = this.cache.get(apiVersion);
    if (
      fetched === undefined ||
      (find(fetched, kind) === undefined && this.now() - fetched.at > this.refreshMs)
    ) {
      const res = await this.fetch(apiVersion);
      if (!res.ok) return res;
      fetched = res.value;
    }
    const resource = find(fetched, kind);
    if (resource === undefined) {
      return fail(ScaleTargetNotFound, `kind ${kind} is not served by apiVersion ${apiVersion}`);
    }
    if (!fetched.resources.some((r) => r.name === `${resource.name}/scale`)) {
      return fail(ScaleTargetNotScalable, `${kind}.${apiVersion} has no /scale subresource`);
    }
    return {
      ok: true,
      value: { apiVersion, kind, plural: resource.name, namespaced: resource.namespaced ?? true },
    };
  }

  private fetch(apiVersion: string): Promise<PlatformResult<Fetched>> {
    const pending = this.inflight.get(apiVersion);
    if (pending !== undefined) return pending;
    const p = (async (): Promise<PlatformResult<Fetched>> => {
      const res = await this.client.request('GET', apiVersionPath(apiVersion));
      if (!res.ok) {
        if (res.error.status === 404)
          return fail(ScaleTargetNotFound, `apiVersion ${apiVersion} is not served`);
        return res;
      }
      const parsed = APIResourceListSchema.safeParse(res.value);
      if (!parsed.success)
        return fail(ScaleTargetNotFound, `discovery of ${apiVersion} returned no resource list`);
      const fetched = { at: this.now(), resources: parsed.data.resources };
      this.cache.set(apiVersion, fetched);
      return { ok: true, value: fetched };
    })().finally(() => this.inflight.delete(apiVersion));
    this.inflight.set(apiVersion, p);
    return p;
  }
}

const find = (f: Fetched, kind: string): APIResource | undefined =>
  f.resources.find((r) => r.kind === kind && !r.name.includes('/'));

const fail = (reason: PlatformError['reason'], message: string): { ok: false; error: PlatformError } => ({
  ok: false,
  error: { reason, message },
});
