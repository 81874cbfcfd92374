// The chart's side of authenticated activator reports (deploy/helm/ebb): the activator mounts a
// projected ServiceAccount token for the reports' own audience and reports with it; the
// controller checks that audience and allows exactly the activator's ServiceAccount (plus
// reports.extraAllowedServiceAccounts); a NetworkPolicy lets only the activator pods reach the
// report port and keeps health, metrics and the adapter open; `reports.auth: none` removes the
// token, the TokenReview permission and says so on both sides. deploy-chart, -apply and
// -run.test.ts lint, dry-run and run the same chart (the activator wakes a Deployment through the
// controller with the projected token, under the chart's RBAC).
import { beforeAll, describe, expect, it } from 'vitest';
import {
  byKind,
  type Container,
  ensureHelm,
  type K8sObject,
  one,
  permissionsOf,
  podOf,
  renderChart,
} from '../deploy/chart.ts';

const NS = 'ebb-system';
const render = (values: Record<string, unknown> = {}) =>
  renderChart({ release: 'ebb', namespace: NS, values });

const deployment = (objs: readonly K8sObject[], component: string): K8sObject =>
  one(
    objs,
    'Deployment',
    byKind(objs, 'Deployment').find(
      (d) => podOf(d).template.metadata.labels['app.kubernetes.io/component'] === component,
    )?.metadata.name ?? `(no ${component})`,
  );
const containerOf = (d: K8sObject): Container => podOf(d).template.spec.containers[0] as Container;
/** `--name=value` → value; absent → undefined. */
const flag = (c: Container, name: string): string | undefined =>
  c.args?.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

interface Rule {
  ports: { port: string | number; protocol: string }[];
  from?: { podSelector?: { matchLabels: Record<string, string> } }[];
}

/** The ingress rules of the one NetworkPolicy. */
const ingressOf = (objs: readonly K8sObject[]): Rule[] => {
  const [policy, ...more] = byKind(objs, 'NetworkPolicy');
  expect(more).toEqual([]);
  return (policy?.spec as { ingress?: Rule[] } | undefined)?.ingress ?? [];
};

beforeAll(() => ensureHelm(), 900_000);

describe('the chart: authenticated activator reports', () => {
  it('the activator reports with a projected token for the audience the controller checks, and only its ServiceAccount is allowed', () => {
    const objs = render();
    const act = deployment(objs, 'activator');
    const ctl = deployment(objs, 'controller');
    const a = containerOf(act);
    const c = containerOf(ctl);
    const file = flag(a, 'report-token-file') ?? '';
    const mount = a.volumeMounts?.find((m) => file.startsWith(`${m.mountPath}/`));
    const volume = podOf(act).template.spec.volumes?.find((v) => v.name === mount?.name);
    const token = volume?.projected?.sources.find(
      (s) => s.serviceAccountToken !== undefined,
    )?.serviceAccountToken;
    expect(token?.path).toBe(file.slice((mount?.mountPath.length ?? 0) + 1));
    expect(token?.expirationSeconds).toBeGreaterThanOrEqual(600);
    // A dedicated audience: the API server would refuse this token, so it cannot be replayed there.
    expect(token?.audience).toBe('ebb-activator-reports');
    expect(flag(c, 'report-auth')).toBe('tokenreview');
    expect(flag(c, 'report-token-audience')).toBe(token?.audience);
    const activatorSA = podOf(act).template.spec.serviceAccountName;
    expect(flag(c, 'report-allowed-service-accounts')).toBe(`${NS}:${activatorSA}`);
    expect(permissionsOf(objs, NS, podOf(ctl).template.spec.serviceAccountName)).toContain(
      'cluster authentication.k8s.io/tokenreviews create',
    );
    expect(permissionsOf(objs, NS, activatorSA)).not.toContain(
      'cluster authentication.k8s.io/tokenreviews create',
    );

    const extra = render({ reports: { extraAllowedServiceAccounts: ['edge:activator'] } });
    expect(flag(containerOf(deployment(extra, 'controller')), 'report-allowed-service-accounts')).toBe(
      `${NS}:${activatorSA},edge:activator`,
    );
  });

  it('a NetworkPolicy: the report port from the activator pods only; health, metrics and the adapter open', () => {
    const objs = render();
    const ctl = deployment(objs, 'controller');
    const act = deployment(objs, 'activator');
    const c = containerOf(ctl);
    const [policy, ...more] = byKind(objs, 'NetworkPolicy');
    expect(more).toEqual([]);
    const spec = policy?.spec as {
      podSelector: { matchLabels: Record<string, string> };
      policyTypes: string[];
      ingress: Rule[];
    };
    expect(selects(spec.podSelector.matchLabels, podOf(ctl).template.metadata.labels)).toBe(true);
    expect(selects(spec.podSelector.matchLabels, podOf(act).template.metadata.labels)).toBe(false);
    expect(spec.policyTypes).toEqual(['Ingress']);
    const portNumber = (p: string | number) =>
      typeof p === 'number' ? p : c.ports?.find((x) => x.name === p)?.containerPort;
    const rulesFor = (port: string) =>
      spec.ingress.filter((r) => r.ports.some((p) => portNumber(p.port) === Number(flag(c, port))));
    const [report, ...otherReport] = rulesFor('report-port');
    expect(otherReport).toEqual([]);
    expect(report?.from).toHaveLength(1);
    const from = report?.from?.[0]?.podSelector?.matchLabels ?? {};
    expect(selects(from, podOf(act).template.metadata.labels)).toBe(true);
    expect(selects(from, podOf(ctl).template.metadata.labels)).toBe(false);
    for (const open of ['health-port', 'metrics-port', 'adapter-port']) {
      const rules = rulesFor(open);
      expect(rules, open).toHaveLength(1);
      expect(rules[0]?.from, open).toBeUndefined(); // from anywhere: kubelet, Prometheus, the aggregator
    }

    // No activator: nobody reaches the report port unless networkPolicy.extraReportFrom names it.
    const alone = render({ activator: { enabled: false } });
    const aloneRules = ingressOf(alone);
    expect(aloneRules.some((r) => r.ports.some((p) => p.port === 'report'))).toBe(false);
    expect(
      flag(containerOf(deployment(alone, 'controller')), 'report-allowed-service-accounts'),
    ).toBeUndefined();
    const edge = render({
      activator: { enabled: false },
      networkPolicy: { extraReportFrom: [{ namespaceSelector: { matchLabels: { team: 'edge' } } }] },
    });
    const edgeRules = ingressOf(edge);
    expect(edgeRules.find((r) => r.ports.some((p) => p.port === 'report'))?.from).toEqual([
      { namespaceSelector: { matchLabels: { team: 'edge' } } },
    ]);
    expect(byKind(render({ networkPolicy: { enabled: false } }), 'NetworkPolicy')).toEqual([]);
  });

  it('reports.auth none: no token, no TokenReview permission, and both sides say so', () => {
    const objs = render({ reports: { auth: 'none' } });
    const act = deployment(objs, 'activator');
    const ctl = deployment(objs, 'controller');
    expect(flag(containerOf(act), 'report-token-file')).toBe('none');
    expect(podOf(act).template.spec.volumes?.some((v) => v.projected !== undefined)).toBe(false);
    expect(flag(containerOf(ctl), 'report-auth')).toBe('none');
    expect(flag(containerOf(ctl), 'report-allowed-service-accounts')).toBeUndefined();
    expect(permissionsOf(objs, NS, podOf(ctl).template.spec.serviceAccountName)).not.toContain(
      'cluster authentication.k8s.io/tokenreviews create',
    );
  });
});
