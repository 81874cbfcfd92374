// One backend per Service port: its ready endpoints with their in-flight counts, a keep-alive
// agent per endpoint, and least-in-flight picking under a per-endpoint concurrency limit. Waiters
// are kept per backend (the hold queue registers itself through `onCapacity`), so a change to one
// Service wakes only the requests waiting for that Service — never a global broadcast.
import { Agent, type AgentOptions } from 'node:http';
import type { Clock, Timer } from '../clock.ts';
import { type BackendTls, backendTlsAgent } from './backend-tls.ts';
import { BackendTrouble } from './backend-trouble.ts';
import { H2Pool } from './h2-upstream.ts';
import type { BackendProtocol, Endpoint, EndpointSource, ServiceRef } from './ports.ts';
import { serviceKeyOf } from './ports.ts';

export interface BackendLimits {
  /** Sockets per endpoint when containerConcurrency is 0 (the agent queues beyond it). */
  readonly maxSocketsPerEndpoint: number;
  /** Idle keep-alive sockets are closed after this long (below the usual 5 s server timeout). */
  readonly idleSocketMs: number;
  /** First pause after a refused connection; doubles per consecutive refusal, up to 32×. */
  readonly refusedCooldownMs: number;
}

export class EndpointState {
  inFlight = 0;
  /** Until when (monotonic ms) picking skips it after refused connections; 0 = never refused. */
  refusedUntil = 0;
  refusals = 0;
  /** No longer in the ready set: its agent is destroyed once the last request ends. */
  removed = false;
  /** Its keep-alive agent: node:https for a TLS endpoint (backend-tls.ts), node:http otherwise. */
  readonly agent: Agent;
  /** The request's `protocol` for `agent` (node refuses an https agent for `http:`). */
  readonly scheme: 'http:' | 'https:';
  /** The HTTP/2 sessions when the endpoint speaks h2c (h2-upstream.ts), else undefined. */
  readonly h2: H2Pool | undefined;
  readonly id: string;

  constructor(
    /** The backend it belongs to (a request releases its slot there, whatever its route does). */
    readonly owner: ServiceBackend,
    readonly address: string,
    readonly port: number,
    maxSockets: number,
    idleSocketMs: number,
    readonly protocol: BackendProtocol = 'http/1.1',
  ) {
    this.id = endpointId(address, port);
    this.h2 = protocol === 'h2c' ? new H2Pool(this.id, address, port, idleSocketMs) : undefined;
    const base: AgentOptions = {
      keepAlive: true,
      maxSockets,
      maxFreeSockets: Math.min(maxSockets, 256),
      scheduling: 'lifo',
      timeout: idleSocketMs,
    };
    const tls = protocol === 'https';
    this.scheme = tls ? 'https:' : 'http:';
    this.agent = tls ? backendTlsAgent(base, owner.service, owner.tls) : new Agent(base);
  }
}

const endpointId = (address: string, port: number): string =>
  address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;

export class ServiceBackend {
  readonly key: string;
  endpoints: EndpointState[] = [];
  /** Per-endpoint limit; 0 = none. The smallest non-zero one of the routes using this backend. */
  containerConcurrency = 0;
  /** Requests waiting for this backend (sum over its routes); kept by the hold queue. */
  held = 0;
  /** Flaps and refusals while requests waited: what a hold timeout reports (backend-trouble.ts). */
  readonly trouble = new BackendTrouble();
  /** Called when capacity may have appeared and `held > 0`: the hold queue's dispatch. */
  onCapacity: (backend: ServiceBackend) => void = () => {};
  /** Called after the ready set changed (cold ↔ warm), before onCapacity. */
  onReadyChange: (backend: ServiceBackend, wasReady: number) => void = () => {};
  private cursor = 0;
  private retryTimer: Timer | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    readonly service: ServiceRef,
    source: EndpointSource,
    private readonly limits: BackendLimits,
    private readonly clock: Clock,
    /** How its TLS endpoints are verified (backend-tls.ts). */
    readonly tls: BackendTls = {},
  ) {
    this.key = serviceKeyOf(service);
    this.unsubscribe = source.subscribe(service, (ready) => this.setReady(ready));
    this.setReady(source.ready(service));
  }

  /**
   * The ready endpoint with the fewest requests in flight that is below the limit and not
   * cooling down after a refusal; ties rotate so idle endpoints share the load. O(endpoints).
   */
  pick(): EndpointState | undefined {
    const eps = this.endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    const limit = this.containerConcurrency;
    const start = n === 1 ? 0 : this.cursor++ % n;
    let best: EndpointState | undefined;
    let checkedClock = false;
    let t = 0;
    for (let i = 0; i < n; i++) {
      const ep = eps[(start + i) % n] as EndpointState;
      if (limit > 0 && ep.inFlight >= limit) continue;
      if (best !== undefined && ep.inFlight >= best.inFlight) continue;
      if (ep.refusedUntil !== 0) {
        if (!checkedClock) {
          t = this.clock.now();
          checkedClock = true;
        }
        if (ep.refusedUntil > t) continue;
        ep.refusedUntil = 0;
      }
      best = ep;
      if (best.inFlight === 0) break;
    }
    if (best !== undefined) best.inFlight++;
    return best;
  }

  /** Ends one request on `ep`; wakes this backend's waiters when there are any. */
  release(ep: EndpointState): void {
    ep.inFlight--;
    if (ep.removed) {
      if (ep.inFlight === 0) closeConnections(ep);
      return;
    }
    if (this.held > 0) this.onCapacity(this);
  }

  /** A connection to `ep` was refused (`error`): skip it for a while (doubling per consecutive refusal). */
  refused(ep: EndpointState, error: string): void {
    this.trouble.connectRefused(error);
    ep.refusals = Math.min(ep.refusals + 1, 6);
    ep.refusedUntil = this.clock.now() + this.limits.refusedCooldownMs * 2 ** (ep.refusals - 1);
  }

  /**
   * Waiters found no slot: if an endpoint is only cooling down after a refusal, wake them when
   * the first cooldown ends (timers may fire a little early on the monotonic clock: re-armed
   * by the dispatch that finds the endpoint still cooling).
   */
  wakeAfterCooldown(): void {
    let soonest = Number.POSITIVE_INFINITY;
    for (const ep of this.endpoints)
      if (ep.refusedUntil !== 0 && ep.refusedUntil < soonest) soonest = ep.refusedUntil;
    if (soonest === Number.POSITIVE_INFINITY || this.retryTimer !== undefined) return;
    this.retryTimer = this.clock.after(Math.max(1, Math.ceil(soonest - this.clock.now()) + 1), () => {
      this.retryTimer = undefined;
      if (this.held > 0) this.onCapacity(this);
    });
    this.retryTimer.unref();
  }

  /** Endpoints that are ready (whether or not they have a free slot). */
  get readyCount(): number {
    return this.endpoints.length;
  }

  setContainerConcurrency(cc: number): void {
    if (cc === this.containerConcurrency) return;
    this.containerConcurrency = cc;
    const sockets = this.socketsPerEndpoint();
    for (const ep of this.endpoints) ep.agent.maxSockets = sockets;
    if (this.held > 0) this.onCapacity(this);
  }

  /** Replaces the ready set, keeping the state (in-flight counts, pooled sockets) of survivors. */
  setReady(ready: readonly Endpoint[]): void {
    const was = this.endpoints.length;
    const old = new Map<string, EndpointState>();
    for (const ep of this.endpoints) old.set(poolKey(ep.id, ep.protocol), ep);
    const next: EndpointState[] = [];
    for (const e of ready) {
      const protocol = e.protocol ?? 'http/1.1';
      const id = poolKey(endpointId(e.address, e.port), protocol);
      const kept = old.get(id);
      if (kept !== undefined) {
        old.delete(id);
        next.push(kept);
      } else if (!next.some((ep) => poolKey(ep.id, ep.protocol) === id)) {
        next.push(
          new EndpointState(
            this,
            e.address,
            e.port,
            this.socketsPerEndpoint(),
            this.limits.idleSocketMs,
            protocol,
          ),
        );
      }
    }
    for (const gone of old.values()) {
      retire(gone);
      if (this.held > 0) this.trouble.becameUnready(gone.id);
    }
    this.endpoints = next;
    this.onReadyChange(this, was);
    if (this.held > 0 && next.length > 0) this.onCapacity(this);
  }

  close(): void {
    this.unsubscribe();
    this.clock.cancel(this.retryTimer);
    for (const ep of this.endpoints) retire(ep);
    this.endpoints = [];
  }

  private socketsPerEndpoint(): number {
    return this.containerConcurrency > 0 ? this.containerConcurrency : this.limits.maxSocketsPerEndpoint;
  }
}

/** Drops an endpoint: idle sockets go now, busy ones when their request ends (see release). */
const retire = (ep: EndpointState): void => {
  ep.removed = true;
  if (ep.inFlight === 0) closeConnections(ep);
};

const closeConnections = (ep: EndpointState): void => {
  ep.agent.destroy();
  ep.h2?.close();
};

/** An endpoint's identity across ready-set updates: a protocol change makes a new one. */
const poolKey = (id: string, protocol: BackendProtocol): string => `${id} ${protocol}`;

/** Backends by service key, shared by the routes that name the same Service port. */
export class BackendPool {
  private readonly backends = new Map<string, ServiceBackend>();

  constructor(
    private readonly source: EndpointSource,
    private readonly limits: BackendLimits,
    private readonly clock: Clock,
    private readonly wire: (backend: ServiceBackend) => void,
    private readonly tls: BackendTls = {},
  ) {}

  get(service: ServiceRef): ServiceBackend {
    const key = serviceKeyOf(service);
    let backend = this.backends.get(key);
    if (backend === undefined) {
      backend = new ServiceBackend(service, this.source, this.limits, this.clock, this.tls);
      this.wire(backend);
      this.backends.set(key, backend);
    }
    return backend;
  }

  /** Closes every backend not in `keep` (no route names it any more). */
  retain(keep: ReadonlySet<ServiceBackend>): void {
    for (const [key, backend] of this.backends) {
      if (keep.has(backend)) continue;
      backend.close();
      this.backends.delete(key);
    }
  }

  closeAll(): void {
    for (const backend of this.backends.values()) backend.close();
    this.backends.clear();
  }

  /** Closes every idle pooled upstream socket, giving its descriptor back (descriptors.ts). */
  closeIdleSockets(): void {
    for (const backend of this.backends.values())
      for (const ep of backend.endpoints)
        for (const idle of Object.values(ep.agent.freeSockets))
          for (const socket of idle ?? []) socket.destroy();
  }
}
