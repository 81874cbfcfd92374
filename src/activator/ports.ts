// The activator's one port to the platform: which endpoints of a Service are ready, and when
// that changes. The Kubernetes adapter implements it with an EndpointSlice watch; embedded mode
// with its process supervisor; tests with a map. (The lead merges this into src/platform/ports.ts.)

/** One ready backend address, already resolved to the target port the pod listens on. */
export interface Endpoint {
  /** An IPv4 or IPv6 address (no brackets). */
  readonly address: string;
  readonly port: number;
  /** How the endpoint is spoken to: HTTP/1.1 unless its Service port says h2c (appProtocolOf). */
  readonly protocol?: BackendProtocol;
}

export type BackendProtocol = 'http/1.1' | 'h2c';

/**
 * The protocol an EndpointSlice/Service port's `appProtocol` names: `kubernetes.io/h2c` (the
 * Kubernetes convention, KEP-3726), `h2c` and `grpc` (gRPC is HTTP/2) are HTTP/2 without TLS;
 * anything else, or none, is HTTP/1.1.
 */
export const appProtocolOf = (appProtocol: string | null | undefined): BackendProtocol =>
  appProtocol === 'kubernetes.io/h2c' || appProtocol === 'h2c' || appProtocol === 'grpc' ? 'h2c' : 'http/1.1';

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
