// The activator's file-descriptor budget. Every client connection is a descriptor, and every
// forwarded request one more (its upstream connection); at the process's open-file limit
// (RLIMIT_NOFILE, often a soft 1,024 in containers) accept() fails (libuv then accepts and drops
// connections silently) and upstream connects fail with EMFILE, which would turn held requests
// into 502s. So the activator counts both against a budget below the limit:
//
//   limit    = the soft RLIMIT_NOFILE (/proc/self/limits; Node cannot raise it, the Helm chart
//              does: deploy/helm/ebb, activator.maxOpenFiles)
//   reserve  = min(1024, max(64, ceil(limit / 16)))  for the rest of the process (watches, report
//              and probe connections, DNS, logs), on top of what is open when the activator starts
//   budget   = limit − open − reserve
//   maxClientConnections = floor(budget × 3/4)   a held request costs one descriptor
//   maxUpstreamRequests  = budget − maxClientConnections   a forwarded one costs one more
//
// Over maxClientConnections a new connection is still accepted (the budget keeps descriptors for
// that) and its request answered 503 ConnectionLimit + Retry-After + `Connection: close`, as
// nginx's limit_conn answers 503, never dropped silently; if it sends no request within 5 s it is
// closed. With maxUpstreamRequests forwarded, further requests wait in the hold queue (within
// holdTimeout) until one finishes. An upstream connect that still fails with EMFILE or ENFILE (a
// descriptor used elsewhere in the process, idle pooled upstream sockets) is not the endpoint's
// fault: the request goes back to the head of its queue, the idle pooled upstream sockets are
// closed to give their descriptors back, and the upstream ceiling drops to what was in flight
// then (each finish lets one more through) until it returns to maxUpstreamRequests after 1 s.
import { readdirSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { type Clock, realClock, type Timer } from '../clock.ts';

/** The soft open-file limit in a /proc/<pid>/limits text; Infinity for "unlimited", undefined if absent. */
export const parseOpenFileLimit = (limits: string): number | undefined => {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined) return undefined;
  if (soft === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(soft);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

/** This process's soft RLIMIT_NOFILE; Infinity where /proc is not there to say (not Linux). */
export const openFileLimit = (): number => {
  try {
    return parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8')) ?? Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
};

/** Descriptors this process has open now (0 where /proc is not there). */
export const openDescriptors = (): number => {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
};

export interface DescriptorLimits {
  readonly maxClientConnections: number;
  readonly maxUpstreamRequests: number;
}

/** The budget for a process with open-file limit `limit` and `open` descriptors in use (see above). */
export const descriptorBudget = (limit: number, open: number): DescriptorLimits => {
  if (!Number.isFinite(limit))
    return { maxClientConnections: Number.POSITIVE_INFINITY, maxUpstreamRequests: Number.POSITIVE_INFINITY };
  const reserve = Math.min(1024, Math.max(64, Math.ceil(limit / 16)));
  const budget = Math.max(2, limit - open - reserve);
  const maxClientConnections = Math.max(1, Math.floor((budget * 3) / 4));
  return { maxClientConnections, maxUpstreamRequests: Math.max(1, budget - maxClientConnections) };
};

/** What the activator reports about its descriptors (Activator.connections()). */
export interface ConnectionUse extends DescriptorLimits {
  readonly openFileLimit: number;
  readonly clientConnections: number;
  /** Upstream connects that failed with EMFILE/ENFILE (and were retried) so far. */
  readonly upstreamShortages: number;
}

/** How long a connection over the budget may take to send the request its 503 answers. */
const REFUSED_IDLE_MS = 5_000;
/** How long the upstream ceiling stays lowered after an EMFILE/ENFILE. */
const CEILING_MS = 1_000;

export class ConnectionBudget {
  /** Client connections open within the budget. */
  clients = 0;
  /** Connections open over it (their request gets 503); 0 almost always. */
  refusing = 0;
  /** Forwards allowed at once now: maxUpstreamRequests, lower for a while after an EMFILE. */
  upstreamCeiling: number;
  /** A forward waited for the ceiling: wake the hold queue when one finishes. */
  blocked = false;
  /** Upstream connects that failed with EMFILE/ENFILE so far. */
  upstreamShortages = 0;
  private readonly refused = new WeakSet<Socket>();
  private ceilingTimer: Timer | undefined;

  /** The budget of this process, each limit as given or else from its open-file limit. */
  static forProcess(
    given: Partial<DescriptorLimits>,
    wake: () => void,
    clock: Clock = realClock,
  ): ConnectionBudget {
    const fileLimit = openFileLimit();
    const { maxClientConnections, maxUpstreamRequests } = given;
    const limits =
      maxClientConnections !== undefined && maxUpstreamRequests !== undefined
        ? { maxClientConnections, maxUpstreamRequests }
        : { ...descriptorBudget(fileLimit, openDescriptors()), ...given };
    return new ConnectionBudget(fileLimit, limits, wake, clock);
  }

  constructor(
    readonly openFileLimit: number,
    readonly limits: DescriptorLimits,
    /** Releases what waited for the ceiling (every backend's queue). */
    private readonly wake: () => void,
    /** Arms the ceiling's return (the refused connections' idle timeout is node's, per socket). */
    private readonly clock: Clock = realClock,
  ) {
    this.upstreamCeiling = limits.maxUpstreamRequests;
  }

  /** Counts the server's connections from now on. */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => {
      if (this.clients < this.limits.maxClientConnections) {
        this.clients++;
        socket.on('close', this.clientClosed);
        return;
      }
      this.refusing++;
      this.refused.add(socket);
      // No 'timeout' listener: node's server destroys a connection idle this long (a socket
      // timeout, node's own: it stays off the Clock port).
      socket.setTimeout(REFUSED_IDLE_MS);
      socket.on('close', this.refusedClosed);
    });
  }

  /** Whether `socket` came in over the budget (its requests get 503 ConnectionLimit); callers
   * check `refusing !== 0` first, so the common case costs no lookup. */
  refuses(socket: Socket): boolean {
    return this.refused.has(socket);
  }

  /** The 503 body. */
  refusal(): string {
    return `this activator holds ${this.clients} client connections, its limit for an open-file limit of ${this.openFileLimit} (maxClientConnections ${this.limits.maxClientConnections}); retry`;
  }

  /** An upstream connect failed for want of descriptors with `inFlight` others forwarded. */
  exhausted(inFlight: number): void {
    this.upstreamShortages++;
    this.upstreamCeiling = Math.min(this.upstreamCeiling, inFlight);
    this.blocked = true;
    if (this.ceilingTimer !== undefined) return;
    this.ceilingTimer = this.clock.after(CEILING_MS, () => {
      this.ceilingTimer = undefined;
      this.upstreamCeiling = this.limits.maxUpstreamRequests;
      this.blocked = false;
      this.wake();
    });
    this.ceilingTimer.unref();
  }

  /** A forward finished with `inFlight` left: what waited for the ceiling may go. */
  finished(inFlight: number): void {
    if (!this.blocked || inFlight >= this.upstreamCeiling) return;
    this.blocked = false;
    this.wake();
  }

  close(): void {
    this.clock.cancel(this.ceilingTimer);
  }

  use(): ConnectionUse {
    return {
      openFileLimit: this.openFileLimit,
      ...this.limits,
      clientConnections: this.clients,
      upstreamShortages: this.upstreamShortages,
    };
  }

  private readonly clientClosed = (): void => {
    this.clients--;
  };

  private readonly refusedClosed = (): void => {
    this.refusing--;
  };
}
