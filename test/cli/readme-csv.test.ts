// The README's simulate commands, run exactly as written. The one that keeps a simulation as CSV
// (issue 13: with `npm run ebb -- … > out.csv` npm's banner was the CSV's first line) runs in a
// directory that looks like the checkout (links to its package.json, sources and examples), so
// out.csv is written there and not into the repository. The outage replay prints the lines the
// README shows for its `error` cells.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ebb-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A README command line, run by bash in `cwd` with the checkout's node and npm first on PATH. */
const asWritten = (command: string, cwd: string) =>
  spawnSync('bash', ['-c', command], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` },
  });

it('the README’s `… simulate … > out.csv` writes a CSV whose first line is the header', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const command = readme.split('\n').find((line) => / simulate .*> out\.csv$/.test(line));
  expect(command, 'README has a simulate command redirected to out.csv').toBeDefined();
  for (const entry of ['package.json', 'node_modules', 'src', 'scalers', 'examples', 'tsconfig.json'])
    symlinkSync(join(root, entry), join(dir, entry));
  const run = asWritten(command ?? 'false', dir);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const lines = readFileSync(join(dir, 'out.csv'), 'utf8').trimEnd().split('\n');
  expect(lines[0]).toBe('t,replicas,active');
  expect(lines.length).toBeGreaterThan(10);
  for (const line of lines.slice(1)) expect(line).toMatch(/^\d+(\.\d+)?,\d+,(true|false)$/);
});

it('the README’s outage replay prints the lines it shows for the trace’s `error` cells', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(
    '\nnpm run --silent ebb -- simulate --scaledobject examples/simulate/outage.yaml',
  );
  expect(at, 'README has the outage replay').toBeGreaterThan(0);
  const command = readme.slice(at + 1, readme.indexOf('\n', at + 1));
  const block = readme.slice(readme.indexOf('```\n', readme.indexOf('prints, among its lines', at)) + 4);
  const shown = block.slice(0, block.indexOf('```')).trimEnd().split('\n');
  expect(shown.length).toBe(2);
  const run = asWritten(command, root);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const lines = run.stdout.split('\n');
  for (const line of shown) expect(lines).toContain(line);
}, 120_000);
