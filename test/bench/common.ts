// Helpers the benchmarks share.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The chart's `<component>.nodeFlags`: the benches run ebb's processes with the flags deployed. */
export const chartNodeFlags = (component: 'activator' | 'controller'): string[] => {
  const values = parse(
    readFileSync(new URL('../../deploy/helm/ebb/values.yaml', import.meta.url), 'utf8'),
  ) as Partial<Record<string, { nodeFlags?: string[] | null }>>;
  return values[component]?.nodeFlags ?? [];
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `limit` in flight, retrying a failed item up to 5 times. */
export const pool = async <T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        for (let attempt = 0; ; attempt++) {
          try {
            await fn(item);
            break;
          } catch (err) {
            if (attempt >= 5) throw err;
            await sleep(200 * (attempt + 1));
          }
        }
      }
    }),
  );
};

/** Resolves once `client.writes()` has not changed for `quietMs`, or at `deadline` (performance.now()). */
export const writesSettled = async (
  client: { writes(): number },
  quietMs: number,
  deadline: number,
): Promise<void> => {
  let quietSince = performance.now();
  let last = client.writes();
  while (performance.now() - quietSince < quietMs && performance.now() < deadline) {
    await sleep(250);
    const w = client.writes();
    if (w !== last) {
      last = w;
      quietSince = performance.now();
    }
  }
};

/** Nearest-rank percentile of ascending `sorted` (p in (0, 100]); NaN when empty. */
export const percentile = (sorted: Float64Array, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/** A Deployment at 0 replicas whose image does not exist: a scale target that never runs a pod. */
export const idleDeployment = (name: string) => {
  const labels = { app: name };
  return {
    metadata: { name },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
      },
    },
  };
};
