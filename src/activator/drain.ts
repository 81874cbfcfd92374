// The activator's shutdown, in the order Knative's queue-proxy and Envoy's drain use (readiness
// first, the listener later), the same in cluster and local mode:
//
// drain():
//   1. readiness fails at once (Activator.draining(): /readyz answers 503), and every answer
//      forwarded from now on carries `Connection: close`, so clients open their next connection
//      elsewhere. For limits.drainDelayMs nothing else changes: new connections are accepted and
//      served, because the load balancer (the Service's endpoints, an ingress) keeps sending
//      some until it has seen the failed readiness.
//   2. then the listener closes (new connections are refused); a request arriving on a connection
//      still open gets 503 Draining + `Connection: close`; idle keep-alive connections are closed
//      (swept every 50 ms: a connection goes idle whenever its answer ends); forwarded requests
//      and tunnels finish. A held request is still released when capacity appears (an answer
//      beats a 503); once nothing is in flight the rest get 503 Draining + Retry-After (another
//      replica takes the retry).
//   3. resolves once every connection is gone, or cuts what is left limits.drainTimeoutMs after
//      step 2 began (held requests 503, connections and tunnels cut).
// close(): steps 2 and 3 at once, cutting everything (also ends a drain under way).
import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { type Clock, realClock } from '../clock.ts';

export interface DrainLimits {
  /** Between readiness failing and the listener closing. */
  readonly drainDelayMs: number;
  /** From the listener closing to cutting what is left. */
  readonly drainTimeoutMs: number;
}

/** What the shutdown acts on (server.ts). */
export interface DrainTarget {
  readonly server: Server;
  /** More listeners feeding `server` its connections (the TLS port): closed with it. */
  readonly listeners?: readonly NetServer[];
  /** Requests forwarded and not finished (tunnels included). */
  inFlight(): number;
  /** Answers every held request 503 Draining with `message`. */
  rejectHeld(message: string): void;
  /** Destroys the upgraded connections and HTTP/2 sessions (not the http server's to close). */
  cutTunnels(): void;
  /** GOAWAY on every HTTP/2 session: open streams finish, new ones go elsewhere. */
  goAway(): void;
}

export class Shutdown {
  /** drain() or close() began: readiness fails, answers close their connections. */
  draining = false;
  /** The listener is closed: new requests get 503 Draining. */
  closing = false;
  private whenIdle: (() => void) | undefined;
  private drained: Promise<void> | undefined;
  private closed: Promise<void> | undefined;
  private endDelay: (() => void) | undefined;

  constructor(
    private readonly target: DrainTarget,
    private readonly limits: DrainLimits,
    private readonly id: string,
    private readonly clock: Clock = realClock,
  ) {}

  /** server.ts calls this whenever nothing is in flight any more. */
  nothingInFlight(): void {
    const idle = this.whenIdle;
    this.whenIdle = undefined;
    idle?.();
  }

  /** Graceful (see the top of this file); the same promise on every call. */
  drain(): Promise<void> {
    if (this.drained !== undefined) return this.drained;
    this.draining = true;
    const delayed = new Promise<void>((resolve) => {
      if (this.limits.drainDelayMs <= 0) return resolve();
      const timer = this.clock.after(this.limits.drainDelayMs, resolve);
      this.endDelay = () => {
        this.clock.cancel(timer);
        resolve();
      };
    });
    this.drained = delayed.then(() => this.stopAccepting());
    return this.drained;
  }

  /** Immediate: held requests get 503, connections and tunnels are cut. */
  close(): Promise<void> {
    this.draining = true;
    this.closing = true;
    this.whenIdle = undefined;
    this.endDelay?.();
    const t = this.target;
    t.rejectHeld(`activator ${this.id} closed`);
    const closed = this.serverClosed();
    t.server.closeAllConnections();
    t.cutTunnels();
    return closed;
  }

  private stopAccepting(): Promise<void> {
    this.endDelay = undefined;
    if (this.closing) return this.serverClosed(); // close() came first
    this.closing = true;
    const t = this.target;
    const closed = this.serverClosed();
    t.goAway();
    const sweep = this.clock.every(50, () => t.server.closeIdleConnections());
    const cut = this.clock.after(this.limits.drainTimeoutMs, () => {
      t.rejectHeld(`activator ${this.id} shut down before capacity appeared`);
      t.server.closeAllConnections();
      t.cutTunnels();
    });
    const idle = (): void => {
      t.rejectHeld(`activator ${this.id} shut down before capacity appeared; retry`);
      t.server.closeIdleConnections();
    };
    if (t.inFlight() === 0) idle();
    else this.whenIdle = idle;
    return closed.then(() => {
      this.clock.cancel(sweep);
      this.clock.cancel(cut);
    });
  }

  /** Stops listening; resolves once every connection is gone (at once when never listening). */
  private serverClosed(): Promise<void> {
    const closing = (s: NetServer): Promise<void> => new Promise((resolve) => s.close(() => resolve()));
    this.closed ??= Promise.all([this.target.server, ...(this.target.listeners ?? [])].map(closing)).then(
      () => undefined,
    );
    return this.closed;
  }
}
