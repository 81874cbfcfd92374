// The Dockerfile without Docker (none on the build machines): its instructions are read and
// checked against the repository (Node major = .nvmrc, non-root numeric USER, every COPY source
// exists and passes .dockerignore, stages referenced exist), and what its build stage does is
// done here: tsc -p tsconfig.build.json, then the compiled entry point is run the way the
// runtime stage's ENTRYPOINT runs it, and every package the compiled code imports must be a
// production dependency (the runtime stage has `npm ci --omit=dev` only).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}
interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped (enough for this Dockerfile). */
const parseDockerfile = (text: string): { args: Map<string, string>; stages: Stage[] } => {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\w+)\s+(.*)$/.exec(full);
    if (m === null) throw new Error(`Dockerfile:${startLine}: cannot read "${full}"`);
    instructions.push({ op: (m[1] ?? '').toUpperCase(), args: m[2] ?? '', line: startLine });
  });
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (m === null) throw new Error(`Dockerfile:${ins.line}: FROM ${ins.args}`);
      stages.push({ from: m[1] ?? '', name: m[2], instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op !== 'ARG') throw new Error(`Dockerfile:${ins.line}: ${ins.op} before the first FROM`);
      const [key, value] = ins.args.split('=');
      args.set(key ?? '', value ?? '');
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return { args, stages };
};

const expand = (s: string, args: Map<string, string>) =>
  s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
    const value = args.get(a ?? b ?? '');
    if (value === undefined) throw new Error(`Dockerfile uses $${a ?? b} without an ARG default`);
    return value;
  });

const { args, stages } = parseDockerfile(read('Dockerfile'));
const final = stages.at(-1);
const nodeMajor = read('.nvmrc').trim();
const pkg = JSON.parse(read('package.json')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

describe('Dockerfile', () => {
  it('is multi-stage on node:<.nvmrc major>-slim', () => {
    expect(nodeMajor).toMatch(/^\d+$/);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(expand(s.from, args)).toBe(`node:${nodeMajor}-slim`);
  });

  it('installs only production dependencies into the runtime image', () => {
    const fromStages = (final?.instructions ?? [])
      .filter((i) => i.op === 'COPY' && i.args.startsWith('--from='))
      .map((i) => /^--from=(\S+)\s+(\S+)/.exec(i.args));
    const nodeModules = fromStages.find((m) => m?.[2] === '/app/node_modules');
    expect(nodeModules, 'the runtime stage copies node_modules from a stage').toBeDefined();
    const source = stages.find((s) => s.name === nodeModules?.[1]);
    const runs = (source?.instructions ?? []).filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
  });

  it('runs as a numeric non-root user', () => {
    const users = (final?.instructions ?? []).filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1) ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/); // a name cannot be checked by runAsNonRoot
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  });

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    // The file is an allowlist: everything excluded, then named top-level entries let back in.
    expect(ignore[0]).toBe('*');
    const allowed = new Set(ignore.slice(1).map((l) => l.replace(/^!/, '').replace(/\/$/, '')));
    const names = new Set(stages.map((s) => s.name));
    const copies = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'COPY'));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const parts = c.args.split(/\s+/);
      const from = parts.find((p) => p.startsWith('--from='));
      const paths = parts.filter((p) => !p.startsWith('--'));
      const sources = paths.slice(0, -1);
      if (from !== undefined) {
        expect(names.has(from.slice('--from='.length)), `Dockerfile:${c.line}: stage ${from}`).toBe(true);
        continue;
      }
      for (const src of sources) {
        expect(existsSync(join(root, src)), `Dockerfile:${c.line}: ${src} exists`).toBe(true);
        expect(
          allowed.has(src.split('/')[0] ?? ''),
          `Dockerfile:${c.line}: ${src} is in .dockerignore's allowlist`,
        ).toBe(true);
      }
    }
  });

  it('has an exec-form ENTRYPOINT of node and the compiled entry point', () => {
    const entry = (final?.instructions ?? []).filter((i) => i.op === 'ENTRYPOINT').at(-1);
    expect(JSON.parse(entry?.args ?? 'null')).toEqual(['node', 'src/main.js']);
    expect(existsSync(join(root, 'src/main.ts'))).toBe(true);
  });
});

describe('the runtime heap', () => {
  /** The last `ENV NODE_OPTIONS=…` of the runtime stage. */
  const nodeOptions = (): string => {
    const envs = (final?.instructions ?? []).filter((i) => i.op === 'ENV').map((i) => i.args);
    const m = /(?:^|\s)NODE_OPTIONS=(\S+)/.exec(envs.filter((e) => e.includes('NODE_OPTIONS=')).at(-1) ?? '');
    return m?.[1] ?? '';
  };

  it('is sized from the memory limit node sees (cgroup, else the machine), not left to V8', () => {
    expect(nodeOptions()).toMatch(/^--max-old-space-size-percentage=\d+$/);
    const percent = Number(nodeOptions().split('=')[1]);
    // node applies it the same way here: its heap limit is that share of the memory it sees.
    const out = execFileSync(
      process.execPath,
      [
        '-p',
        'const c = process.constrainedMemory(); const t = require("os").totalmem(); ' +
          'JSON.stringify([require("v8").getHeapStatistics().heap_size_limit, c > 0 && c < t ? c : t])',
      ],
      { env: { ...process.env, NODE_OPTIONS: nodeOptions() }, encoding: 'utf8' },
    );
    const [limit, memory] = JSON.parse(out) as [number, number];
    const oldSpace = (memory * percent) / 100;
    // heap_size_limit = old space + the young generation (a few MB to tens of MB).
    expect(limit).toBeGreaterThanOrEqual(oldSpace * 0.98);
    expect(limit).toBeLessThan(oldSpace + 128 * 1024 * 1024);
  });
});

describe('the build stage, done here', () => {
  let dir = '';
  let app = '';
  const ebb = (...argv: string[]) =>
    execFileSync(process.execPath, [join(app, 'src', 'main.js'), ...argv], { cwd: app, encoding: 'utf8' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ebb-image-'));
    app = join(dir, 'app');
    // The build stage's command, with the output where the runtime stage puts it (/app).
    const tsc = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(root, 'tsconfig.build.json'),
        '--outDir',
        app,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    // A type error fails `docker build` too (RUN exits non-zero).
    if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${tsc.stdout}${tsc.stderr}`);
    execFileSync('cp', [join(root, 'package.json'), join(app, 'package.json')]);
    symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
  }, 120_000);
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('the compiled entry point runs: `ebb crds` prints the checked-in CRDs', () => {
    expect(ebb('crds')).toBe(read('crds/autoscaling.ebb.dev.yaml'));
    expect(ebb('run', '--help')).toContain('--leader-elect');
  });

  it('the compiled code imports node builtins and production dependencies only', () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (e === 'node_modules') continue;
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.js')) files.push(p);
      }
    };
    walk(app);
    expect(files.length).toBeGreaterThan(20);
    const builtins = new Set(builtinModules);
    const used = new Map<string, string>();
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      // Static imports and re-exports (tsc starts them on a line of their own), side-effect
      // imports, dynamic imports of a literal.
      const specifiers = [
        ...text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm),
        ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
        ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ];
      for (const m of specifiers) {
        const spec = m[1] ?? '';
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] ?? '');
        used.set(name, relative(app, f));
      }
    }
    // The scan sees imports at all (a regex that matched nothing would pass vacuously).
    expect([...used.keys()]).toEqual(expect.arrayContaining(['undici', 'zod', 'commander']));
    for (const [name, where] of used) {
      expect(
        pkg.dependencies[name],
        `${where} imports ${name}, which is not in "dependencies"`,
      ).toBeDefined();
    }
  });
});
