// `ebb migrate`: KEDA manifests rewritten byte for byte except apiVersion and the pause
// annotations, and a report naming file:line and the field of every difference that applies.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliIO, processIO } from '../../src/cli/io.ts';
import { migrateText, runMigrate } from '../../src/cli/migrate.ts';
import { runCli } from '../../src/cli/program.ts';

const FIXTURE = 'test/fixtures/keda/shop.yaml';
const NOW = Date.parse('2026-06-01T00:00:00Z'); // a Monday

const run = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    ...processIO(),
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    now: () => new Date(NOW),
  };
  const code = await runCli(['migrate', ...args], io);
  return { code, stdout, stderr };
};

const so = (extra: string, metadata = '') => `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: x${metadata}
spec:
  scaleTargetRef: { name: x }
${extra}`;

describe('ebb migrate', () => {
  it('changes only apiVersion and the pause annotations, keeping comments, quoting and other kinds', async () => {
    const original = await readFile(FIXTURE, 'utf8');
    const { code, stdout } = await run([FIXTURE]);
    expect(code).toBe(0);
    const expected = original
      .replaceAll('apiVersion: keda.sh/v1alpha1', 'apiVersion: autoscaling.ebb.dev/v1alpha1')
      .replace(
        'autoscaling.keda.sh/paused-replicas: "2" # keep',
        'autoscaling.ebb.dev/paused-replicas: "2" # keep',
      );
    expect(stdout).toBe(expected);
    expect(stdout).toContain('containers: [{ name: worker, image: orders:1 }]'); // not reformatted
  });

  it('reports each difference with its file, line and field', async () => {
    const { stderr } = await run([FIXTURE]);
    const lines = stderr.trim().split('\n');
    const at = (prefix: string) => lines.find((l) => l.startsWith(prefix));
    expect(at(`${FIXTURE}:12: difference: spec.pollingInterval: pollingInterval 30:`)).toContain(
      'Set pollingInterval: 15',
    );
    expect(
      at(`${FIXTURE}:8: ignored: metadata.annotations["scaledobject.keda.sh/transfer-hpa-ownership"]`),
    ).toBeDefined();
    expect(at(`${FIXTURE}:5: difference: metadata.name: KEDA's HPA keda-hpa-orders`)).toContain(
      'HPAConflict',
    );
    expect(at(`${FIXTURE}:14: difference: spec.fallback.failureThreshold: fallback counting`)).toBeDefined();
    expect(at(`${FIXTURE}:15: difference: spec.fallback.replicas:`)).toBeDefined();
    expect(
      at(`${FIXTURE}:22: difference: spec.triggers[0].metadata.lagThreshold: the partition cap`),
    ).toBeDefined();
    // Friday 17:00 in Berlin: closed in ebb, open in KEDA until Monday 08:00.
    expect(at(`${FIXTURE}:26: difference: spec.triggers[1].metadata.start:`)).toContain(
      'at 2026-06-05 17:00 Europe/Berlin (2026-06-05T15:00:00.000Z) it is inactive in ebb and active in KEDA',
    );
    expect(lines.at(-1)).toBe('ebb migrate: 2 object(s) converted, 8 difference(s) to read, 0 error(s)');
  });

  it("names the instant for the issue's always-on window and says nothing for 08:00-17:00", () => {
    const cron = (start: string, end: string) =>
      so(`  triggers:
    - type: cron
      metadata: { timezone: Etc/UTC, start: "${start}", end: "${end}", desiredReplicas: "1" }
`);
    const always = migrateText('a.yaml', cron('* * * * *', '0 0 1 1 *'), NOW).findings;
    expect(always.find((f) => f.field === 'spec.triggers[0].metadata.start')?.message).toContain(
      'at 2026-06-01 00:00 Etc/UTC (2026-06-01T00:00:00.000Z) it is active in ebb and inactive in KEDA',
    );
    const daily = migrateText('b.yaml', cron('0 8 * * *', '0 17 * * *'), NOW).findings;
    expect(daily.filter((f) => f.field.includes('metadata.start'))).toEqual([]);
  });

  it('refuses what cannot be converted, exit 1: a ScaledJob, an env source, an object ebb refuses', async () => {
    const text = `apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: { name: j }
---
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: { name: t }
spec:
  env: [{ parameter: password, name: PASSWORD }]
---
${so(`  triggers:
    - type: cron
      metadata: { timezone: Etc/UTC, start: "0 8 * * *", end: "0 9 * * *", desiredReplicas: "0" }
`)}`;
    const result = migrateText('c.yaml', text, NOW);
    const errors = result.findings.filter((f) => f.severity === 'error').map((f) => `${f.line}: ${f.field}`);
    expect(errors).toEqual(['2: kind', '9: spec.env', '19: spec.triggers[0].metadata.desiredReplicas']);
    expect(result.findings.find((f) => f.line === 19)?.message).toContain('set minReplicaCount: 0');
    expect(result.converted).toBe(0);
    expect(result.text).toContain('kind: ScaledJob'); // left as it is
  });

  it('reports what ebb validate says of the converted objects: strict unknown fields, metadata-key typos, dangling refs', () => {
    const text = so(`  pollingIntervall: 5
  triggers:
    - type: kafka
      metadata: { bootstrapServers: "kafka:9092", consumerGroup: orders, lagTreshold: "5" }
      authenticationRef: { name: nowhere }
`);
    const result = migrateText('e.yaml', text, NOW);
    const own = result.findings.filter((f) => f.severity === 'error' || f.severity === 'warning');
    expect(own.map((f) => `${f.line}: ${f.severity}: ${f.field}: ${f.message}`)).toEqual([
      '7: error: spec.pollingIntervall: ebb refuses this: unknown field "spec.pollingIntervall"',
      '10: warning: spec.triggers[0].metadata.lagTreshold: unknown metadata key "lagTreshold" for a kafka trigger (did you mean "lagThreshold"?); KEDA and ebb ignore it',
      '11: warning: spec.triggers[0].authenticationRef.name: TriggerAuthentication default/nowhere is not in the files given; it may exist in the cluster already (ebb resolves it there), else the trigger fails with AuthenticationError',
    ]);
    expect(result.converted).toBe(0);
  });

  it('*FromEnv: refused where KEDA would read it, as admission says; with an authenticationRef, a difference', () => {
    const rabbit = (extra: string) =>
      so(`  triggers:
    - type: rabbitmq
      metadata: { queueName: q, hostFromEnv: RABBIT_URL }
${extra}`);
    const bare = migrateText('f.yaml', rabbit(''), NOW).findings.filter((f) => f.field.endsWith('FromEnv'));
    expect(bare).toEqual([
      {
        file: 'f.yaml',
        line: 9,
        field: 'spec.triggers[0].metadata.hostFromEnv',
        severity: 'error',
        message:
          'ebb refuses this: ebb has no container environment to read it from; put the value in a Secret and reference it with a TriggerAuthentication',
      },
    ]);
    const withRef = migrateText('g.yaml', rabbit('      authenticationRef: { name: rabbit }\n'), NOW);
    expect(withRef.findings.filter((f) => f.field.endsWith('FromEnv'))).toMatchObject([
      {
        line: 9,
        severity: 'difference',
        message: expect.stringContaining('unless TriggerAuthentication "rabbit" provides host'),
      },
    ]);
  });

  it('ClusterTriggerAuthentication: the Secrets namespace is named', () => {
    const result = migrateText(
      'd.yaml',
      `apiVersion: "keda.sh/v1alpha1"
kind: ClusterTriggerAuthentication
metadata: { name: c }
spec:
  secretTargetRef: [{ parameter: host, name: rabbit, key: host }]
`,
      NOW,
    );
    expect(result.text).toContain('apiVersion: "autoscaling.ebb.dev/v1alpha1"');
    expect(result.findings).toMatchObject([
      { line: 5, field: 'spec.secretTargetRef', severity: 'difference' },
    ]);
  });

  it('reads a directory recursively, writes --out DIR, and reports as JSON', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ebb-migrate-'));
    try {
      const { code, stdout } = await run(['test/fixtures/keda', '--out', out, '--output', 'json']);
      expect(code).toBe(0);
      const report = JSON.parse(stdout) as {
        files: { file: string; converted: number }[];
        findings: unknown[];
      };
      expect(report.files).toEqual([{ file: FIXTURE, converted: 2 }]);
      expect(report.findings).toHaveLength(8);
      expect(await readFile(join(out, 'shop.yaml'), 'utf8')).toContain('autoscaling.ebb.dev/v1alpha1');
    } finally {
      await rm(out, { recursive: true });
    }
  });

  it('an unreadable file is an error naming it', async () => {
    const io = { ...processIO(), now: () => new Date(NOW) };
    let err = '';
    const code = await runMigrate(
      ['no/such.yaml'],
      { output: 'text' },
      { ...io, stderr: { write: (t: string) => (err += t) } },
    );
    expect(code).toBe(1);
    expect(err).toContain('no/such.yaml:0: error: cannot read: no such file or directory');
  });
});
