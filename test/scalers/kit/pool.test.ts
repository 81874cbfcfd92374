import { describe, expect, it } from 'vitest';
import { connectionKey, createConnectionPool } from '../../../scalers/kit/pool.ts';

const trackingPool = () => {
  const closed: string[] = [];
  let failClose = false;
  const errors: unknown[] = [];
  const pool = createConnectionPool<{ id: string }>(
    async (r) => {
      closed.push(r.id);
      if (failClose) throw new Error(`close ${r.id} failed`);
    },
    (e) => errors.push(e),
  );
  return {
    pool,
    closed,
    errors,
    failCloses: () => {
      failClose = true;
    },
  };
};

describe('connection pool', () => {
  it('opens one resource per key, counts leases, closes on the last release only', async () => {
    const { pool, closed } = trackingPool();
    let opens = 0;
    const open = () => ({ id: `r${++opens}` });
    const leases = Array.from({ length: 200 }, () => pool.acquire('k', open));
    expect(opens).toBe(1);
    expect(new Set(leases.map((l) => l.resource)).size).toBe(1);
    expect(pool.references('k')).toBe(200);
    expect(pool.stats()).toEqual({ open: 1, leases: 200, opened: 1, closed: 0 });

    for (const lease of leases.slice(1)) await lease.release();
    expect(closed).toEqual([]);
    expect(pool.references('k')).toBe(1);
    await leases[0]?.release();
    expect(closed).toEqual(['r1']);
    expect(pool.stats()).toEqual({ open: 0, leases: 0, opened: 1, closed: 1 });
  });

  it('release is idempotent: a double release does not steal another lease', async () => {
    const { pool, closed } = trackingPool();
    const a = pool.acquire('k', () => ({ id: 'r' }));
    pool.acquire('k', () => ({ id: 'other' }));
    await a.release();
    await a.release();
    expect(pool.references('k')).toBe(1);
    expect(closed).toEqual([]);
  });

  it('keys are separate; a key reopened after closing gets a fresh resource', async () => {
    const { pool, closed } = trackingPool();
    const a = pool.acquire('a', () => ({ id: 'a1' }));
    const b = pool.acquire('b', () => ({ id: 'b1' }));
    expect(pool.stats().open).toBe(2);
    await a.release();
    const again = pool.acquire('a', () => ({ id: 'a2' }));
    expect(again.resource.id).toBe('a2');
    expect(closed).toEqual(['a1']);
    await b.release();
    await again.release();
    expect(pool.stats()).toEqual({ open: 0, leases: 0, opened: 3, closed: 3 });
  });

  it('a failing close is reported, not thrown, and the resource is gone', async () => {
    const t = trackingPool();
    t.failCloses();
    const lease = t.pool.acquire('k', () => ({ id: 'r' }));
    await expect(lease.release()).resolves.toBeUndefined();
    expect(t.errors.map(String)).toEqual(['Error: close r failed']);
    expect(t.pool.stats().open).toBe(0);
  });
});

describe('connectionKey', () => {
  it('is the same for equal settings written in another key order, and holds no secret', () => {
    const a = connectionKey({ brokers: ['a:1'], sasl: { username: 'u', password: 'hunter2' } });
    const b = connectionKey({ sasl: { password: 'hunter2', username: 'u' }, brokers: ['a:1'] });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toContain('hunter2');
  });

  it('differs when anything differs', () => {
    const keys = [
      { brokers: ['a:1'] },
      { brokers: ['a:2'] },
      { brokers: ['a:1'], sasl: { password: 'x' } },
      { brokers: ['a:1'], sasl: { password: 'y' } },
      { brokers: ['a:1'], tls: null },
    ].map(connectionKey);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
