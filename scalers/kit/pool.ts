// The scaler kit's reference-counted pool of shared connections: one per key (a cluster or broker
// plus the credentials used on it), however many triggers read through it. `acquire` opens on
// first use and hands out a lease; the last lease's `release` closes. Kafka's admin clients and
// RabbitMQ's AMQP connections both live in one; each controller builds its own (ScalerDeps).
import { createHash } from 'node:crypto';

export interface Lease<T> {
  readonly resource: T;
  /** Gives the lease back; the last one closes the resource. Idempotent. */
  release(): Promise<void>;
}

export interface PoolStats {
  /** Resources open now. */
  readonly open: number;
  /** Leases held now, over all keys. */
  readonly leases: number;
  /** Resources opened since the pool was made. */
  readonly opened: number;
  /** Resources closed since the pool was made. */
  readonly closed: number;
}

export interface ConnectionPool<T> {
  /** A lease on the resource for `key`, opened with `open` when no lease holds it. */
  acquire(key: string, open: () => T): Lease<T>;
  /** Leases held on `key` now (0 when it is not open). */
  references(key: string): number;
  /** Leases held on each open resource (tests and diagnostics). */
  leaseCounts(): number[];
  stats(): PoolStats;
}

interface Entry<T> {
  readonly resource: T;
  leases: number;
}

/**
 * A pool closing resources with `close`. A close that fails is swallowed after `onCloseError`:
 * the resource is dropped from the pool either way, and the next acquire opens a fresh one.
 */
export const createConnectionPool = <T>(
  close: (resource: T) => Promise<void>,
  onCloseError: (error: unknown) => void = () => {},
): ConnectionPool<T> => {
  const entries = new Map<string, Entry<T>>();
  let opened = 0;
  let closed = 0;
  let leases = 0;
  return {
    acquire(key, open) {
      let entry = entries.get(key);
      if (entry === undefined) {
        entry = { resource: open(), leases: 0 };
        entries.set(key, entry);
        opened++;
      }
      entry.leases++;
      leases++;
      const held = entry;
      let released = false;
      return {
        resource: held.resource,
        async release() {
          if (released) return;
          released = true;
          held.leases--;
          leases--;
          if (held.leases > 0) return;
          // Removed before closing, so an acquire meanwhile opens a fresh resource.
          if (entries.get(key) === held) entries.delete(key);
          closed++;
          try {
            await close(held.resource);
          } catch (error) {
            onCloseError(error);
          }
        },
      };
    },
    references: (key) => entries.get(key)?.leases ?? 0,
    leaseCounts: () => [...entries.values()].map((e) => e.leases),
    stats: () => ({ open: entries.size, leases, opened, closed }),
  };
};

/**
 * A pool key that holds no secret in clear: a SHA-256 over a canonical JSON of `parts` (object
 * keys sorted), so equal settings written in another order share one connection.
 */
export const connectionKey = (parts: unknown): string =>
  createHash('sha256').update(canonicalJson(parts)).digest('hex');

const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
};
