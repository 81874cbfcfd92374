// The README's command that keeps a simulation as CSV, run exactly as written (issue 13: with
// `npm run ebb -- … > out.csv` npm's banner was the CSV's first line). It runs in a directory
// that looks like the checkout (links to its package.json, sources and examples), so out.csv is
// written there and not into the repository.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ebb-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the README’s `… simulate … > out.csv` writes a CSV whose first line is the header', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const command = readme.split('\n').find((line) => / simulate .*> out\.csv$/.test(line));
  expect(command, 'README has a simulate command redirected to out.csv').toBeDefined();
  for (const entry of ['package.json', 'node_modules', 'src', 'scalers', 'examples', 'tsconfig.json'])
    symlinkSync(join(root, entry), join(dir, entry));
  const run = spawnSync('bash', ['-c', command ?? 'false'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const lines = readFileSync(join(dir, 'out.csv'), 'utf8').trimEnd().split('\n');
  expect(lines[0]).toBe('t,replicas,active');
  expect(lines.length).toBeGreaterThan(10);
  for (const line of lines.slice(1)) expect(line).toMatch(/^\d+(\.\d+)?,\d+,(true|false)$/);
});
