#!/usr/bin/env node
// `npm test`: every check the project has, in order, each timed:
//   1. test/env/build-binaries.sh   (kube-apiserver, kube-controller-manager, etcd; cached)
//   2. biome check .
//   3. tsc -p tsconfig.json --noEmit
//   4. vitest run (all projects; the integration project starts the real servers)
// The last line printed is `N passed, N failed` (from vitest's JSON report). The exit status is
// non-zero when any step failed, a test file failed to run, or no test ran at all.
//
//   node scripts/test.mjs --unit    skip the binaries and the integration project (fast loop)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const resultsFile = join(root, '.vitest-results.json');

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--unit');
if (unknown.length > 0) {
  console.error(`usage: node scripts/test.mjs [--unit]   (unknown: ${unknown.join(' ')})`);
  process.exit(2);
}
const unitOnly = args.includes('--unit');

/** @type {{ name: string, ok: boolean, seconds: number }[]} */
const steps = [];

function run(name, command, commandArgs) {
  const start = performance.now();
  console.log(`\n── ${name}: ${[command, ...commandArgs].join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    const finish = (ok, detail) => {
      const seconds = (performance.now() - start) / 1000;
      steps.push({ name, ok, seconds });
      console.log(`── ${name}: ${ok ? 'ok' : `FAILED${detail}`} in ${seconds.toFixed(1)} s`);
      resolve(ok);
    };
    child.on('error', (error) => finish(false, ` (${error.message})`));
    child.on('close', (code, signal) =>
      finish(code === 0, signal ? ` (signal ${signal})` : ` (exit ${code})`),
    );
  });
}

let binariesOk = true;
if (!unitOnly) binariesOk = await run('binaries', 'bash', [join(root, 'test', 'env', 'build-binaries.sh')]);
await run('lint', bin('biome'), ['check', '.']);
await run('typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);

rmSync(resultsFile, { force: true });
// Without the binaries the integration project cannot start; run the unit tests only and fail.
const projects = unitOnly || !binariesOk ? ['--project', 'unit'] : [];
const vitestOk = await run('vitest', bin('vitest'), [
  'run',
  ...projects,
  '--reporter=default',
  '--reporter=json',
  `--outputFile=${resultsFile}`,
]);

let passed = 0;
let failed = 0;
let resultsOk = false;
if (existsSync(resultsFile)) {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  passed = results.numPassedTests ?? 0;
  failed = results.numFailedTests ?? 0;
  const failedFiles = results.numFailedTestSuites ?? 0;
  const total = results.numTotalTests ?? 0;
  if (failedFiles > 0) console.log(`${failedFiles} test file(s)/suite(s) failed`);
  if (total === 0) console.log('no tests ran');
  resultsOk = failed === 0 && failedFiles === 0 && total > 0 && passed > 0;
} else {
  console.log(`vitest wrote no ${resultsFile}`);
}

console.log('\nsteps:');
for (const step of steps)
  console.log(`  ${step.ok ? 'ok    ' : 'FAILED'} ${step.name.padEnd(10)} ${step.seconds.toFixed(1)} s`);
if (unitOnly) console.log('  (--unit: binaries and integration tests skipped)');
const ok = steps.every((step) => step.ok) && vitestOk && resultsOk;
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = ok ? 0 : 1;
