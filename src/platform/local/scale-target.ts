// ScaleTarget and EndpointSource of embedded mode, both backed by the supervisor: a target's
// replicas are its LocalApp's processes, and an http trigger's Service is that LocalApp (the
// Service port is not used: each replica listens on its own free port).
import type { Endpoint, EndpointSource, ServiceRef } from '../../activator/ports.ts';
import { ScaleTargetNotFound } from '../../api/reasons.ts';
import type { PlatformError, PlatformResult, ScaleTarget, TargetRef } from '../ports.ts';
import type { Supervisor } from './supervisor.ts';

export class LocalScaleTarget implements ScaleTarget {
  constructor(private readonly supervisor: Supervisor) {}

  async replicas(ref: TargetRef): Promise<PlatformResult<number>> {
    const group = this.supervisor.group(ref.namespace, ref.name);
    return group === undefined ? notFound(ref) : { ok: true, value: group.desired };
  }

  async scale(ref: TargetRef, replicas: number): Promise<PlatformResult<number>> {
    const group = this.supervisor.group(ref.namespace, ref.name);
    if (group === undefined) return notFound(ref);
    group.scale(replicas);
    return { ok: true, value: group.desired };
  }

  forget(_ref: TargetRef): void {}
}

const notFound = (ref: TargetRef): { ok: false; error: PlatformError & { status: number } } => ({
  ok: false,
  error: {
    reason: ScaleTargetNotFound,
    message: `LocalApp ${ref.namespace}/${ref.name} is not declared in the file (scaleTargetRef.name)`,
    status: 404,
  },
});

export class LocalEndpointSource implements EndpointSource {
  constructor(private readonly supervisor: Supervisor) {}

  ready(service: ServiceRef): readonly Endpoint[] {
    return this.supervisor.group(service.namespace, service.name)?.ready() ?? [];
  }

  subscribe(service: ServiceRef, onChange: (ready: readonly Endpoint[]) => void): () => void {
    return this.supervisor.group(service.namespace, service.name)?.subscribe(onChange) ?? (() => {});
  }
}

/** Local mode's Service ports: a number is taken as it is; names have no Service to resolve them. */
export const localServicePort = (
  _namespace: string,
  _service: string,
  port: number | string,
): number | undefined => (typeof port === 'number' ? port : undefined);
