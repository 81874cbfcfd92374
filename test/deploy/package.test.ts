// The package as a user installs it (issue 13: the bin imported tsx, a devDependency, so a
// production install broke it). `npm pack` (its prepack builds dist/), the tarball installed
// with --omit=dev into an empty project, then the installed `ebb` runs from the compiled
// JavaScript with no tsx anywhere: `--version` and `validate`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ebb-package-'));
const project = join(work, 'project');
const installedBin = join(project, 'node_modules', 'ebb', 'bin', 'ebb.js');

/** npm with the pinned Node first on PATH (npm's scripts run `tsc` with it). */
const npmEnv = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };

beforeAll(() => {
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], {
    cwd: root,
    env: npmEnv,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .at(-1);
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), '{ "name": "uses-ebb", "private": true }\n');
  // --prefer-offline: from the npm cache that installing the checkout filled; the registry only
  // for what it lacks.
  execFileSync(
    'npm',
    ['install', '--prefer-offline', '--omit=dev', '--no-audit', '--no-fund', join(work, tarball ?? '')],
    { cwd: project, env: npmEnv, encoding: 'utf8', stdio: 'pipe' },
  );
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const ebb = (args: string[]) =>
  spawnSync(process.execPath, [installedBin, ...args], { cwd: project, encoding: 'utf8', timeout: 60_000 });

describe('the packed package, installed with --omit=dev', () => {
  it('ships the compiled code and no sources, and installs no devDependency', () => {
    const shipped = readdirSync(join(project, 'node_modules', 'ebb'));
    expect(shipped).toEqual(expect.arrayContaining(['bin', 'dist', 'crds', 'package.json']));
    expect(shipped).not.toContain('src');
    expect(existsSync(join(project, 'node_modules', 'ebb', 'dist', 'src', 'main.js'))).toBe(true);
    for (const dev of ['tsx', 'typescript', 'vitest', 'esbuild'])
      expect(existsSync(join(project, 'node_modules', dev)), dev).toBe(false);
  });

  it('ebb --version runs from dist/', () => {
    const run = ebb(['--version']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^ebb \d+\.\d+\.\d+/);
    expect(run.status).toBe(0);
  });

  it('ebb validate checks a ScaledObject (and refuses a broken one) without tsx', () => {
    const good = ebb(['validate', join(root, 'examples', 'simulate', 'fast.yaml')]);
    expect(good.stderr).toContain('1 ScaledObject checked');
    expect(good.status).toBe(0);
    const bad = join(work, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: autoscaling.ebb.dev/v1alpha1\nkind: ScaledObject\nmetadata: {name: x}\nspec: {}\n',
    );
    const refused = ebb(['validate', bad]);
    expect(refused.status).toBe(1);
    expect(refused.stdout + refused.stderr).toContain('scaleTargetRef');
  });

  it('bin/ebb.js with neither dist/ nor tsx says what to do and exits 1', () => {
    const bare = join(work, 'bare');
    execFileSync('mkdir', ['-p', join(bare, 'bin')]);
    execFileSync('cp', [join(root, 'bin', 'ebb.js'), join(bare, 'bin', 'ebb.js')]);
    const run = spawnSync(process.execPath, [join(bare, 'bin', 'ebb.js'), '--version'], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('no compiled dist/src/main.js (build it with `npm run build`)');
    expect(run.stderr).toContain('no tsx');
  });
});
