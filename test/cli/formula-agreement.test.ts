// One admission, everywhere: `ebb validate`, the controller's admission (admitScaledObject and a
// real reconcile) and `ebb simulate` give the same verdict, with the same problems, on every
// formula of a corpus of valid and invalid ones. Nothing here reads outside the repository.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { CliIO } from '../../src/cli/io.ts';
import { runCli } from '../../src/cli/program.ts';
import { problemLine, validateText } from '../../src/cli/validate.ts';
import { admitScaledObject } from '../../src/controller/admission.ts';
import { MAX_FORMULA_COST, MAX_FORMULA_LENGTH } from '../../src/scaling/formula.ts';
import { condition, harness, scaledObject } from '../controller/fakes.ts';

const FILE = 'so.yaml';

const manifest = (formula: string): string => `
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: app, namespace: ns}
spec:
  scaleTargetRef: {name: app}
  advanced:
    scalingModifiers:
      formula: ${JSON.stringify(formula)}
      target: "5"
  triggers:
  - type: kafka
    name: q
    metadata: {bootstrapServers: "kafka:9092", consumerGroup: g, topic: orders, lagThreshold: "10"}
  - type: kafka
    name: p
    metadata: {bootstrapServers: "kafka:9092", consumerGroup: g, topic: payments, lagThreshold: "10"}
`;

const terms = (n: number): string => Array.from({ length: n }, () => 'q').join(' + ');

/** The corpus: a formula and whether KEDA's subset with ebb's limits admits it. */
const CORPUS: ReadonlyArray<{ formula: string; valid: boolean }> = [
  { formula: 'q', valid: true },
  { formula: 'max(q, p/1000)', valid: true },
  { formula: '(q + p) / 2', valid: true },
  { formula: 'q > 2 ? q + p : 1', valid: true },
  { formula: 'q ?? 0', valid: true },
  { formula: 'q == nil ? 1 : q', valid: true },
  { formula: 'not (q > 1) ? 0 : round(p)', valid: true },
  { formula: 'q / 0.0', valid: true }, // admitted: a division by zero fails each poll, not admission
  { formula: terms(MAX_FORMULA_COST / 2), valid: true }, // cost 999
  { formula: 'q +', valid: false },
  { formula: 'nosuch * 2', valid: false },
  { formula: 'q ** 2', valid: false },
  { formula: "'abc'", valid: false },
  { formula: 'q > 1', valid: false },
  { formula: '[1, 2].exists(x, x > q)', valid: false },
  { formula: 'q.size', valid: false },
  { formula: 'sqrt(q)', valid: false },
  { formula: 'q ?? 0 + 1', valid: false },
  { formula: 'max(q', valid: false },
  { formula: terms(MAX_FORMULA_COST / 2 + 1), valid: false }, // cost 1001
  { formula: `q${' '.repeat(MAX_FORMULA_LENGTH)}`, valid: false },
];

const simulate = async (yaml: string): Promise<{ code: number; stderr: string }> => {
  let stderr = '';
  const files: Record<string, string> = { [FILE]: yaml, 'trace.csv': 't,q,p\n0,10,20\n60,0,0\n' };
  const io: CliIO = {
    stdout: { write: () => true },
    stderr: { write: (text: string) => (stderr += text) },
    now: () => new Date('2024-06-03T08:58:00Z'),
    readText: async (file) => {
      const text = files[file];
      if (text === undefined) throw new Error(`ENOENT: ${file}`);
      return text;
    },
  };
  const code = await runCli(['simulate', '--scaledobject', FILE, '--metrics', 'trace.csv'], io);
  return { code, stderr };
};

/** A real reconcile of the object: its Ready condition, and whether a poll loop runs for it. */
const reconcile = async (parsed: Record<string, unknown>) => {
  const h = harness();
  h.target.set('Deployment/ns/app', 1);
  h.source.put({ ...parsed, metadata: scaledObject('app').metadata });
  await h.controller.reconcileNow('ns/app');
  await h.controller.reconcileNow('ns/app');
  return { ready: condition(h.writer.patches, 'Ready'), polling: h.controller.polling };
};

describe('validate, admission, the controller and simulate agree on every formula', () => {
  it.each(CORPUS.map((row) => ({ ...row, label: row.formula.slice(0, 60) })))(
    '$label (valid: $valid)',
    async ({ formula, valid }) => {
      const yaml = manifest(formula);
      const validated = validateText(FILE, yaml).documents[0];
      if (validated === undefined || 'unreadable' in validated) throw new Error('the manifest is YAML');
      const lines = validated.problems.map((p) => problemLine(FILE, 1, p));

      const admission = admitScaledObject(parseYaml(yaml));
      expect(admission.problems).toEqual(validated.problems);

      const { ready, polling } = await reconcile(parseYaml(yaml));
      const sim = await simulate(yaml);
      if (valid) {
        expect(lines).toEqual([]);
        expect(ready?.status).not.toBe('False');
        expect(polling).toBe(1);
        expect(sim).toEqual({ code: 0, stderr: '' });
      } else {
        expect(lines.length).toBeGreaterThan(0);
        for (const p of validated.problems) expect(p.path).toBe('spec.advanced.scalingModifiers.formula');
        expect(polling).toBe(0);
        expect(ready).toMatchObject({
          status: 'False',
          reason: 'InvalidSpec',
          message: validated.problems.map((p) => `${p.path}: ${p.message}`).join('; '),
        });
        expect(sim).toEqual({ code: 1, stderr: `${lines.join('\n')}\n` });
      }
    },
  );
});
