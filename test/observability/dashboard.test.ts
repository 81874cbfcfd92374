// The Grafana dashboard only queries what ebb exports: every metric name in every PromQL
// expression (panels and template variables) is one EbbMetrics registers, with labels it has.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EbbMetrics } from '../../src/observability/metrics.ts';

const dashboard = JSON.parse(
  readFileSync(new URL('../../deploy/grafana/ebb-dashboard.json', import.meta.url), 'utf8'),
) as {
  panels: { title: string; type: string; targets?: { expr: string }[] }[];
  templating: { list: { name: string; query: unknown }[] };
};

/** PromQL and Grafana words that are not metric names. */
const WORDS = new Set([
  'sum',
  'avg',
  'min',
  'max',
  'count',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'label_values',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
]);

/** `{ metric → its label names }` for every series name the registry can expose. */
const exported = (): Map<string, Set<string>> => {
  const m = new EbbMetrics({ version: '0' });
  const out = new Map<string, Set<string>>();
  for (const metric of m.registry.getMetricsAsArray()) {
    const { name, labelNames } = metric as unknown as { name: string; labelNames: string[] };
    const type = (metric as unknown as { type: string }).type;
    const labels = new Set(labelNames);
    out.set(name, labels);
    if (type === 'histogram') {
      out.set(`${name}_bucket`, new Set([...labels, 'le']));
      out.set(`${name}_sum`, labels);
      out.set(`${name}_count`, labels);
    }
  }
  return out;
};

interface Use {
  readonly metric: string;
  readonly labels: readonly string[];
}

/** Metric names an expression reads, each with the label names its selector matches on. */
const metricsIn = (expr: string): Use[] => {
  // Grafana's label_values(selector, label): the label must be one of the selector's metric.
  const lv = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(expr.trim());
  if (lv !== null) {
    return metricsIn(lv[1] as string).map((u) => ({ ...u, labels: [...u.labels, lv[2] as string] }));
  }
  const uses: Use[] = [];
  const text = expr
    .replace(/\[[^\]]*\]/g, ' ') // ranges
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' '); // grouping label lists
  const selector = /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g;
  const rest = text.replace(selector, (_all, metric: string | undefined, matchers: string) => {
    const labels = [...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map(
      (m) => m[1] as string,
    );
    if (metric !== undefined) uses.push({ metric, labels });
    return ' ';
  });
  const bare = rest.replace(/"[^"]*"/g, ' ').replace(/\b\d+(\.\d+)?\b/g, ' ');
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (!WORDS.has(m[0])) uses.push({ metric: m[0], labels: [] });
  }
  return uses;
};

const exprs = (): string[] => {
  const out: string[] = [];
  for (const p of dashboard.panels) for (const t of p.targets ?? []) out.push(t.expr);
  for (const v of dashboard.templating.list) {
    const q = v.query as { query?: string } | string | undefined;
    const text = typeof q === 'string' ? q : q?.query;
    if (text?.includes('(')) out.push(text);
  }
  return out;
};

describe('deploy/grafana/ebb-dashboard.json', () => {
  const known = exported();

  it('every PromQL expression names only metrics (and labels) ebb exports', () => {
    const all = exprs();
    expect(all.length).toBeGreaterThan(10);
    for (const expr of all) {
      const uses = metricsIn(expr);
      expect(uses.length, expr).toBeGreaterThan(0);
      for (const use of uses) {
        const labels = known.get(use.metric);
        expect(labels, `${use.metric} in ${expr}`).toBeDefined();
        for (const l of use.labels)
          expect(labels?.has(l), `label ${l} of ${use.metric} in ${expr}`).toBe(true);
      }
    }
  });

  it('shows per ScaledObject the metric, its target, desired and current replicas and scaler errors', () => {
    const read = new Set(exprs().flatMap((e) => metricsIn(e).map((u) => u.metric)));
    for (const m of [
      'ebb_scaler_metrics_value',
      'ebb_scaler_metrics_target',
      'ebb_scaled_object_replicas',
      'ebb_scaler_detail_errors_total',
    ]) {
      expect(read.has(m), m).toBe(true);
    }
    const vars = dashboard.templating.list.map((v) => v.name);
    expect(vars).toEqual(expect.arrayContaining(['namespace', 'scaledObject']));
  });

  it('the checker itself catches a metric ebb does not export', () => {
    const uses = metricsIn('sum by (le) (rate(keda_scaler_metrics_value{scaledObject="x"}[5m]))');
    expect(uses.map((u) => u.metric)).toEqual(['keda_scaler_metrics_value']);
    expect(known.has('keda_scaler_metrics_value')).toBe(false);
  });
});
