// Helpers the benchmarks share.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * ebb's processes run as shipped: the image runs tsc's JavaScript with NODE_ENV=production
 * (Dockerfile), not tsx's (under tsx every closure is wrapped by esbuild's `__name` helper, a
 * defineProperty per closure created, and the loader and its transform cache sit in the heap).
 * Compiles `entry` (a path from the checkout's root) and everything it imports with tsc, as the
 * image's build does, into .bench-build/`name`/ (gitignored, inside the checkout so node_modules
 * resolves as from src/), and returns the entry's JavaScript. tsc copies package.json along
 * (build-info imports it), which also marks the output as ESM.
 */
export const compileForBench = (name: string, entry: string, log: (msg: string) => void): string => {
  const build = join(ROOT, '.bench-build', name);
  rmSync(build, { recursive: true, force: true });
  mkdirSync(build, { recursive: true });
  const config = join(build, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: false, outDir: '.', rootDir: '../..' },
      include: [],
      files: [`../../${entry}`],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const t = performance.now();
  execFileSync(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
  log(`${entry} compiled in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return join(build, entry.replace(/\.ts$/, '.js'));
};

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
