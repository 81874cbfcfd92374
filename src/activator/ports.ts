// The activator's one port to the platform: which endpoints of a Service are ready, and when
// that changes. The Kubernetes adapter implements it with an EndpointSlice watch; embedded mode
// with its process supervisor; tests with a map. (The lead merges this into src/platform/ports.ts.)

/** One ready backend address, already resolved to the target port the pod listens on. */
export interface Endpoint {
  /** An IPv4 or IPv6 address (no brackets). */
  readonly address: string;
  readonly port: number;
}

/** A Service port as an `http` trigger names it: `service` and `port` in the ScaledObject's namespace. */
export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
  /** The Service port; the source maps it to the endpoints' target port. */
  readonly port: number;
}

/** `namespace/name:port`: the key the activator keeps one backend pool (and its waiters) under. */
export const serviceKeyOf = (s: ServiceRef): string => `${s.namespace}/${s.name}:${s.port}`;

export interface EndpointSource {
  /** The endpoints of `service` that are ready now (empty when the Service has none or is unknown). */
  ready(service: ServiceRef): readonly Endpoint[];
  /**
   * Calls `onChange` with the full ready set every time it changes (not for the current set).
   * Returns the unsubscribe function. Never called from inside `ready` or `subscribe`.
   */
  subscribe(service: ServiceRef, onChange: (ready: readonly Endpoint[]) => void): () => void;
}
