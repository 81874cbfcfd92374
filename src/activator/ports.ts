// The activator's one port to the platform: which endpoints of a Service are ready, and when
// that changes. The Kubernetes adapter implements it with an EndpointSlice watch; embedded mode
// with its process supervisor; tests with a map. (The lead merges this into src/platform/ports.ts.)

/** One ready backend address, already resolved to the target port the pod listens on. */
export interface Endpoint {
  /** An IPv4 or IPv6 address (no brackets). */
  readonly address: string;
  readonly port: number;
  /** How the endpoint is spoken to: HTTP/1.1 unless its Service port says otherwise (appProtocolOf). */
  readonly protocol?: BackendProtocol;
}

/** HTTP/1.1 in clear, HTTP/2 in clear (h2c), or HTTP/1.1 over TLS (https: backend-tls.ts). */
export type BackendProtocol = 'http/1.1' | 'h2c' | 'https';

/**
 * The protocol an EndpointSlice/Service port's `appProtocol` names (KEP-3726 standard names
 * and IANA service names):
 *   `kubernetes.io/h2c`, `h2c`, `grpc` (gRPC is HTTP/2)   → h2c: HTTP/2 without TLS
 *   `https` (IANA), `kubernetes.io/wss` (WebSocket over TLS) → https: HTTP/1.1 over TLS
 *   anything else, or none (`http`, `kubernetes.io/ws`, …) → HTTP/1.1 in clear
 */
export const appProtocolOf = (appProtocol: string | null | undefined): BackendProtocol => {
  switch (appProtocol) {
    case 'kubernetes.io/h2c':
    case 'h2c':
    case 'grpc':
      return 'h2c';
    case 'https':
    case 'kubernetes.io/wss':
      return 'https';
    default:
      return 'http/1.1';
  }
};

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
