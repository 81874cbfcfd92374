// The activator's limits and their defaults, in one place (README lists them with the flags and
// http trigger fields that set them). Per-route fields (RouteSpec) override the timeouts marked so.
//
//   holding       maxHeldRequests, holdTimeout (per route), retryAfterSeconds on every 503
//   upstream      maxSocketsPerEndpoint, idleSocketMs, refusedCooldownMs, responseTimeoutMs (per route)
//   client side   keepAliveTimeoutMs, headersTimeoutMs, requestBodyTimeoutMs (per route; nginx's
//                 client_body_timeout), upgradeIdleTimeoutMs (per route; nginx's proxy_read_timeout)
//   descriptors   maxClientConnections, maxUpstreamRequests (default from RLIMIT_NOFILE: descriptors.ts)
//   shutdown      drainDelayMs, drainTimeoutMs (drain.ts)

export interface ActivatorLimits {
  /** Requests the whole activator may hold (each route also has its own maxHeldRequests). */
  readonly maxHeldRequests: number;
  /** `Retry-After` on every 503. */
  readonly retryAfterSeconds: number;
  /** Sockets per endpoint when the route sets no containerConcurrency. */
  readonly maxSocketsPerEndpoint: number;
  /** Idle upstream keep-alive sockets close after this (below node's and most servers' 5 s). */
  readonly idleSocketMs: number;
  /** First pause after an endpoint refused a connection (doubles per refusal, up to 32×). */
  readonly refusedCooldownMs: number;
  /** drain() keeps accepting and serving for this long after readiness failed (drain.ts). */
  readonly drainDelayMs: number;
  /** drain() gives up waiting after this (from the listener closing) and cuts what is left. */
  readonly drainTimeoutMs: number;
  /** Idle client keep-alive; above the usual 60 s of load balancers, so they close first. */
  readonly keepAliveTimeoutMs: number;
  /** Time a client has to send its request head. */
  readonly headersTimeoutMs: number;
  /** A forwarded request waits this long for the endpoint's response head, then gets 504
   * (UpstreamTimeout) when its route sets no responseTimeoutMs; 0 = no limit. */
  readonly responseTimeoutMs: number;
  /** An upgraded connection with no byte either way for this long is closed, when its route sets
   * no upgradeIdleTimeoutMs (nginx's proxy_read_timeout); 0 = no limit. */
  readonly upgradeIdleTimeoutMs: number;
  /** Client connections open at once (more get 503 ConnectionLimit); default from the
   * open-file limit (descriptors.ts). */
  readonly maxClientConnections?: number;
  /** Requests forwarded at once (more wait in the hold queue); default from the open-file limit. */
  readonly maxUpstreamRequests?: number;
  /** A forwarded request whose body stops arriving for this long gets 408 (RequestBodyTimeout),
   * when its route sets no requestBodyTimeoutMs (nginx's client_body_timeout); 0 = no limit. */
  readonly requestBodyTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<ActivatorLimits> = {
  maxHeldRequests: 10_000,
  retryAfterSeconds: 1,
  maxSocketsPerEndpoint: 256,
  idleSocketMs: 4_000,
  refusedCooldownMs: 100,
  drainDelayMs: 0,
  drainTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  headersTimeoutMs: 60_000,
  responseTimeoutMs: 300_000,
  upgradeIdleTimeoutMs: 60_000,
  requestBodyTimeoutMs: 60_000,
};
