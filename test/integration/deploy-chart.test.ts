// The cluster install (deploy/), offline: with helm built from its Go module, `helm lint
// --strict` for every values set; `helm template` renders what the issue asks for (controller
// with leader election and 2 replicas, activator Deployment + Service, the adapter's APIService
// with a certificate that its caBundle verifies, probes, requests, PodDisruptionBudgets) and each
// value does what values.yaml says; the schema refuses bad values naming them; every container
// runs an ebb command with flags that command accepts; the RBAC is exactly the requests ebb
// makes. The APIService names the adapter's own Service, which has no selector and a port
// `https`: `--adapter-service` makes the leader keep its EndpointSlice, with RBAC limited by name.
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allRules,
  byKind,
  CHART,
  ensureHelm,
  helm,
  type K8sObject,
  one,
  permissionsOf,
  podOf,
  renderChart,
} from '../deploy/chart.ts';
import {
  ADAPTER_SERVICE,
  adapterEndpoint,
  appVersion,
  CERT_MADE_FOR,
  container,
  deployment,
  dockerEntrypoint,
  dockerUid,
  EXPECTED,
  flag,
  flagsOf,
  kube,
  OFFLINE,
  packageVersion,
  portNamed,
  render,
  selects,
  VALUE_SETS,
} from './deploy-setup.ts';

beforeAll(() => ensureHelm(), 900_000);

describe('the chart, rendered by helm', () => {
  it.each(Object.keys(VALUE_SETS))('helm lint --strict passes: %s', (set) => {
    const res = helm(['lint', '--strict', CHART], VALUE_SETS[set]?.(OFFLINE));
    expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
    expect(res.stdout).toContain('0 chart(s) failed');
  });

  it('default values: a leader-elected controller with 2 replicas, an activator, the adapter, probes, requests, PDBs', () => {
    const objs = render('defaults');
    const ns = OFFLINE.release;
    // The loops below check every object; a render that produced none would pass them all.
    expect(objs.length).toBeGreaterThan(20);
    for (const o of objs) {
      const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'APIService'].includes(o.kind);
      if (clusterScoped) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBeUndefined();
      else if (o.kind !== 'RoleBinding' || o.metadata.namespace !== 'kube-system')
        expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(ns);
    }

    const ctl = deployment(objs, 'controller');
    const act = deployment(objs, 'activator');
    const c = container(ctl);
    const a = container(act);
    expect(podOf(ctl).replicas).toBe(2);
    expect(c.args?.[0]).toBe('run');
    expect(flag(c, 'leader-elect')).toBe('');
    expect(flag(c, 'lease-namespace')).toBe(ns);
    expect(flag(c, 'cluster-object-namespace')).toBe(ns);
    expect(flag(c, 'namespace')).toBeUndefined(); // every namespace
    expect(flag(c, 'poll-timeout')).toBe('10'); // controller.pollTimeoutSeconds
    expect(a.args?.[0]).toBe('activator');
    expect(flag(a, 'trusted-proxies')).toBeUndefined(); // trust nobody
    expect(podOf(act).replicas).toBe(2);
    // The controller and the activator run the image's entry point with their node flags
    // (controller.nodeFlags: V8's young generation capped; activator.nodeFlags: fixed; see
    // values.yaml).
    expect(c.command).toEqual(['node', '--max-semi-space-size=8', 'src/main.js']);
    expect(dockerEntrypoint).toEqual(['node', 'src/main.js']);
    expect(a.command).toEqual(['node', '--min-semi-space-size=16', 'src/main.js']);

    // The image is the one the Dockerfile builds, at the version package.json names.
    expect(appVersion).toBe(packageVersion);
    for (const x of [c, a]) expect(x.image).toBe(`ebb:${packageVersion}`);

    for (const [d, x, healthFlag] of [
      [ctl, c, 'health-port'],
      [act, a, 'health-port'],
    ] as const) {
      const health = Number(flag(x, healthFlag));
      expect(health).toBeGreaterThan(0);
      expect(x.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(x.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(portNamed(x, x.livenessProbe?.httpGet?.port ?? '')).toBe(health);
      expect(portNamed(x, x.readinessProbe?.httpGet?.port ?? '')).toBe(health);
      expect(x.resources?.requests?.cpu).toBeDefined();
      expect(x.resources?.requests?.memory).toBeDefined();
      expect(x.resources?.limits?.cpu).toBeUndefined(); // throttling delays polls and lease renewals
      // Non-root as the image: the uid the Dockerfile's USER names.
      expect(podOf(d).template.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: dockerUid,
      });
      expect(x.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(x.volumeMounts?.some((m) => m.mountPath === '/tmp')).toBe(true);
      // Every port a flag opens is a named container port.
      for (const f of ['health-port', 'metrics-port', 'report-port', 'adapter-port', 'port']) {
        const v = flag(x, f);
        if (v !== undefined && v !== '0') expect(x.ports?.map((p) => p.containerPort)).toContain(Number(v));
      }
      // A PodDisruptionBudget per Deployment that leaves one of two pods evictable.
      const pdbs = byKind(objs, 'PodDisruptionBudget').filter((p) =>
        selects(
          (p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels,
          podOf(d).template.metadata.labels,
        ),
      );
      expect(pdbs).toHaveLength(1);
      expect(pdbs[0]?.spec).toMatchObject({ maxUnavailable: 1 });
      expect(podOf(d).selector.matchLabels).toEqual(
        Object.fromEntries(
          Object.entries(podOf(d).template.metadata.labels).filter(
            ([k]) => k in podOf(d).selector.matchLabels,
          ),
        ),
      );
    }

    // Services select pods of a Deployment and target ports those pods name; the one exception
    // is the adapter's (below), whose endpoint the leader writes.
    const [selectorLess, ...moreSelectorLess] = byKind(objs, 'Service').filter(
      (s) => (s.spec as { selector?: unknown }).selector === undefined,
    );
    expect(selectorLess?.metadata.name).toBe(ADAPTER_SERVICE);
    expect(moreSelectorLess).toEqual([]);
    // The activator's Service, the controller's report Service and the adapter's.
    expect(byKind(objs, 'Service').length).toBeGreaterThanOrEqual(3);
    for (const s of byKind(objs, 'Service')) {
      if (s === selectorLess) continue;
      const spec = s.spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
      const targets = [ctl, act].filter((d) => selects(spec.selector, podOf(d).template.metadata.labels));
      expect(targets, `Service ${s.metadata.name} selects one Deployment's pods`).toHaveLength(1);
      const x = container(targets[0] as K8sObject);
      expect(spec.ports.length, `Service ${s.metadata.name} ports`).toBeGreaterThan(0);
      for (const p of spec.ports)
        expect(portNamed(x, p.targetPort), `${s.metadata.name} ${p.targetPort}`).toBeDefined();
    }
    const activatorService = one(objs, 'Service', act.metadata.name);
    expect((activatorService.spec as { ports: { targetPort: string }[] }).ports[0]?.targetPort).toBe('http');

    // The activator reports to the controllers' report port through the headless Service.
    const reports = byKind(objs, 'Service').find(
      (s) => (s.spec as { clusterIP?: string }).clusterIP === 'None',
    ) as K8sObject;
    expect(flag(a, 'controller-url')).toBe(
      `http://${reports.metadata.name}.${ns}.svc:${flag(c, 'report-port') ?? ''}`,
    );

    // The APIService points at the adapter's own Service: no selector, one port named `https`
    // (the name the leader's EndpointSlice port carries, src/platform/kubernetes/leader-endpoints.ts),
    // the Service the controller keeps the endpoint of (--adapter-service, with the pod's IP, name
    // and namespace from the downward API). The selector Service of the controller keeps
    // /metrics only: a standby is never behind the APIService.
    const apiService = one(objs, 'APIService', 'v1beta1.external.metrics.k8s.io');
    const svcRef = (apiService.spec as { service: { name: string; namespace: string; port: number } })
      .service;
    expect(svcRef.namespace).toBe(ns);
    expect(svcRef.name).toBe(ADAPTER_SERVICE);
    expect(flag(c, 'adapter-service')).toBe(svcRef.name);
    const svc = one(objs, 'Service', svcRef.name);
    expect(svc.metadata.namespace).toBe(ns);
    const svcSpec = svc.spec as {
      type: string;
      selector?: unknown;
      ports: { name: string; port: number; targetPort: number | string; protocol: string }[];
    };
    expect(svcSpec.selector).toBeUndefined();
    expect(svcSpec.type).toBe('ClusterIP');
    expect(svcSpec.ports).toEqual([
      { name: 'https', port: svcRef.port, targetPort: Number(flag(c, 'adapter-port')), protocol: 'TCP' },
    ]);
    const controllerSvc = one(objs, 'Service', ctl.metadata.name);
    expect((controllerSvc.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toEqual([
      'metrics',
    ]);
    const fieldOf = (name: string) => c.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
    expect(fieldOf('POD_IP')).toBe('status.podIP');
    expect(fieldOf('POD_NAME')).toBe('metadata.name');
    expect(fieldOf('POD_NAMESPACE')).toBe('metadata.namespace');
    const certDir = flag(c, 'adapter-cert-dir') ?? '';
    const mount = c.volumeMounts?.find((m) => m.mountPath === certDir);
    const volume = podOf(ctl).template.spec.volumes?.find((v) => v.name === mount?.name);
    const secret = one(objs, 'Secret', volume?.secret?.secretName ?? '');
    const data = secret.data as Record<string, string>;
    const ca = new X509Certificate(
      Buffer.from((apiService.spec as { caBundle: string }).caBundle, 'base64').toString('utf8'),
    );
    const cert = new X509Certificate(Buffer.from(data['tls.crt'] ?? '', 'base64').toString('utf8'));
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost(`${svc.metadata.name}.${ns}.svc`)).toBe(`${svc.metadata.name}.${ns}.svc`);
    // The Secret records the Service its certificate was made for (an upgrade reuses it only then).
    expect(secret.metadata.annotations?.[CERT_MADE_FOR]).toBe(svc.metadata.name);
    expect(Buffer.from(data['tls.key'] ?? '', 'base64').toString('utf8')).toContain('PRIVATE KEY');
    expect((apiService.spec as { insecureSkipTLSVerify?: boolean }).insecureSkipTLSVerify).toBeUndefined();
  });

  it('every container runs an ebb command with flags that command accepts', () => {
    expect(Object.keys(VALUE_SETS).length).toBeGreaterThan(1);
    const commands = new Set<string>();
    for (const set of Object.keys(VALUE_SETS)) {
      const deployments = byKind(render(set), 'Deployment');
      // The controller in every values set (the activator in most).
      expect(deployments.length, set).toBeGreaterThan(0);
      for (const d of deployments) {
        const c = container(d);
        const [command, ...args] = c.args ?? [];
        commands.add(command ?? '');
        const accepted = flagsOf(command ?? '');
        expect(accepted.size, `${set}: ebb ${command} --help lists flags`).toBeGreaterThan(5);
        expect(args.length, `${set}: ${d.metadata.name} has flags`).toBeGreaterThan(0);
        for (const arg of args) {
          const m = /^(--[\w-]+)(=.*)?$/.exec(arg);
          expect(m, `${set}: ${d.metadata.name}: "${arg}" is --flag or --flag=value`).not.toBeNull();
          const name = m?.[1] ?? '';
          expect(accepted.has(name), `${set}: ebb ${command} accepts ${name}`).toBe(true);
          expect(
            m?.[2] !== undefined,
            `${set}: ${name} ${accepted.get(name) ? 'takes' : 'takes no'} value`,
          ).toBe(accepted.get(name));
        }
      }
    }
    expect([...commands].sort()).toEqual(['activator', 'run']);
  });

  it('values: adapter, activator, replicas, Secrets, PDBs, one namespace, certificate sources', () => {
    const off = render('no adapter, no activator, 3 controllers, no Secrets, no PDB');
    const ctl = deployment(off, 'controller');
    expect(podOf(ctl).replicas).toBe(3);
    expect(flag(container(ctl), 'adapter-port')).toBe('0');
    expect(flag(container(ctl), 'adapter-cert-dir')).toBeUndefined();
    expect(flag(container(ctl), 'adapter-service')).toBeUndefined();
    expect(container(ctl).env?.map((e) => e.name)).not.toContain('POD_IP');
    expect(byKind(off, 'Service').map((s) => s.metadata.name)).not.toContain(ADAPTER_SERVICE);
    for (const kind of ['APIService', 'Secret', 'PodDisruptionBudget'])
      expect(byKind(off, kind), kind).toHaveLength(0);
    expect(byKind(off, 'Deployment')).toHaveLength(1);
    expect(off.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'activator')).toEqual([]);
    expect(off.filter((o) => o.metadata.namespace === 'kube-system')).toEqual([]);
    const ctlSvc = one(off, 'Service', ctl.metadata.name);
    expect((ctlSvc.spec as { ports: { name: string }[] }).ports.map((p) => p.name)).toEqual(['metrics']);

    const n = OFFLINE;
    const scoped = render('one namespace, cluster objects elsewhere, certificate from a Secret');
    const sc = container(deployment(scoped, 'controller'));
    const sa = container(deployment(scoped, 'activator'));
    expect(flag(sc, 'namespace')).toBe(n.watch);
    expect(flag(sa, 'namespace')).toBe(n.watch);
    expect(sa.command).toBeUndefined(); // nodeFlags [] : the image's entry point, node's defaults
    expect(sc.command).toBeUndefined();
    expect(flag(sa, 'trusted-proxies')).toBe('10.244.0.0/16,fd00::/8');
    expect(flag(sc, 'cluster-object-namespace')).toBe(n.clusterObjects);
    expect(podOf(deployment(scoped, 'activator')).replicas).toBe(3);
    expect(byKind(scoped, 'Secret')).toHaveLength(0); // the certificate comes from the user's Secret
    const vol = podOf(deployment(scoped, 'controller')).template.spec.volumes?.find(
      (v) => v.secret !== undefined,
    );
    expect(vol?.secret?.secretName).toBe('adapter-tls');
    const api = one(scoped, 'APIService', 'v1beta1.external.metrics.k8s.io').spec as { caBundle: string };
    expect(Buffer.from(api.caBundle, 'base64').toString('utf8')).toBe(kube.caData);
    expect(podOf(deployment(scoped, 'controller')).template.metadata).toMatchObject({
      annotations: { 'prometheus.io/scrape': 'true' },
    });
    const svcType = (
      one(scoped, 'Service', deployment(scoped, 'activator').metadata.name).spec as { type: string }
    ).type;
    expect(svcType).toBe('NodePort');
    // With one namespace watched, no ClusterRole grants anything namespaced (only cluster-scoped
    // ClusterTriggerAuthentications and TokenReviews).
    const clusterRoles = byKind(scoped, 'ClusterRole');
    expect(clusterRoles.length).toBeGreaterThan(0);
    expect(clusterRoles.flatMap((r) => (r.rules as unknown[]) ?? []).length).toBeGreaterThan(0);
    for (const r of clusterRoles)
      for (const rule of (r.rules as { resources: string[] }[]) ?? [])
        expect(['clustertriggerauthentications', 'tokenreviews'], `ClusterRole ${r.metadata.name}`).toContain(
          rule.resources.join(),
        );

    // A long fullname still makes a valid Service name (a DNS label: at most 63 characters), and
    // the flag and the RBAC follow it.
    const long = renderChart({
      release: 'ebb',
      namespace: n.release,
      values: { fullnameOverride: `ebb-${'x'.repeat(46)}` },
    });
    const longName = flag(container(deployment(long, 'controller')), 'adapter-service') ?? '';
    expect(longName).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(longName.length).toBeLessThanOrEqual(63);
    expect(longName.endsWith('-metrics-adapter')).toBe(true);
    expect(one(long, 'APIService', 'v1beta1.external.metrics.k8s.io').spec).toMatchObject({
      service: { name: longName },
    });
    expect(permissionsOf(long, n.release, `ebb-${'x'.repeat(46)}-controller`)).toEqual(
      expect.arrayContaining(adapterEndpoint(n.release, longName)),
    );

    const runtime = render('runtime certificate (as the plain manifests)');
    expect(byKind(runtime, 'Secret')).toHaveLength(0);
    expect(flag(container(deployment(runtime, 'controller')), 'adapter-cert-dir')).toBeUndefined();
    expect(one(runtime, 'APIService', 'v1beta1.external.metrics.k8s.io').spec).toMatchObject({
      insecureSkipTLSVerify: true,
    });
  });

  it('values: backend CA from a ConfigMap, insecure, OTLP endpoint and OTEL_* env on the activator', () => {
    const off = container(deployment(render('defaults'), 'activator'));
    for (const f of ['backend-ca-file', 'backend-tls-insecure', 'otlp-endpoint'])
      expect(flag(off, f), f).toBeUndefined();
    expect(off.env?.some((e) => e.name.startsWith('OTEL_'))).toBe(false);
    const on = deployment(render('activator backend CA, tracing'), 'activator');
    const c = container(on);
    const caFile = flag(c, 'backend-ca-file') ?? '';
    const mount = c.volumeMounts?.find((m) => caFile.startsWith(`${m.mountPath}/`));
    expect(mount, caFile).toBeDefined();
    const vol = podOf(on).template.spec.volumes?.find((v) => v.name === mount?.name);
    // The ConfigMap's key lands at the file the flag names.
    expect(vol?.configMap).toEqual({
      name: 'service-ca',
      items: [{ key: 'service-ca.crt', path: caFile.slice((mount?.mountPath.length ?? 0) + 1) }],
    });
    expect(flag(c, 'backend-tls-insecure')).toBeUndefined();
    expect(flag(c, 'otlp-endpoint')).toBe('http://otel-collector.observability:4318');
    expect(c.env?.filter((e) => e.name.startsWith('OTEL_'))).toEqual([
      { name: 'OTEL_EXPORTER_OTLP_HEADERS', value: 'x-tenant=a' },
      { name: 'OTEL_SERVICE_NAME', value: 'edge-activator' },
    ]);
    const insecure = container(deployment(render('activator backend TLS insecure'), 'activator'));
    expect(flag(insecure, 'backend-tls-insecure')).toBe('');
    expect(flag(insecure, 'backend-ca-file')).toBeUndefined();
  });

  it('values.schema.json and the templates refuse bad values, naming them', () => {
    const refused: [values: Record<string, unknown>, names: string][] = [
      [{ controler: { replicas: 2 } }, 'controler'],
      [{ controller: { replicas: 0 } }, 'replicas'],
      [{ controller: { replicas: '2' } }, 'replicas'],
      [{ adapter: { certificate: { source: 'cert-manager' } } }, 'source'],
      [{ adapter: { certificate: { source: 'secret' } } }, 'secretName'],
      [{ watchNamespace: 'Team_A' }, 'watchNamespace'],
      [{ image: { pullPolicy: 'Sometimes' } }, 'pullPolicy'],
      [{ activator: { trustedProxies: ['ingress-nginx'] } }, 'trustedProxies'],
      [{ activator: { trustedProxies: '10.0.0.0/8' } }, 'trustedProxies'],
      [{ reports: { auth: 'basic' } }, 'auth'],
      [{ reports: { tokenExpirationSeconds: 60 } }, 'tokenExpirationSeconds'],
      [{ reports: { extraAllowedServiceAccounts: ['ebb-activator'] } }, 'extraAllowedServiceAccounts'],
      [{ networkPolicy: { enable: true } }, 'enable'],
      [{ activator: { tls: { minVersion: 'TLSv1.1' } } }, 'minVersion'],
      [{ activator: { tls: { secrets: ['Shop/a-tls'] } } }, 'secrets'],
      [{ activator: { tls: { enabled: true } } }, 'activator.tls.enabled needs activator.tls.secrets'],
      [
        { activator: { backendTls: { caConfigMap: { name: 'ca' }, insecure: true } } },
        'caConfigMap.name and insecure contradict each other',
      ],
      [{ activator: { backendTls: { caConfigMap: { name: 'Service_CA' } } } }, 'name'],
      [{ activator: { otlpEndpoint: 'otel:4318' } }, 'otlpEndpoint'],
      [{ activator: { otelEnv: { EBB_LOG_LEVEL: 'debug' } } }, 'EBB_LOG_LEVEL'],
    ];
    for (const [values, name] of refused) {
      const res = helm(['template', 'ebb', CHART, '--namespace', 'ebb-system'], values);
      expect(res.status, JSON.stringify(values)).not.toBe(0);
      expect(res.stderr, JSON.stringify(values)).toContain(name);
    }
  });

  it('RBAC: exactly the requests ebb makes; no wildcard but */scale; Secrets read-only', () => {
    for (const set of Object.keys(VALUE_SETS)) {
      const objs = render(set);
      const expected = EXPECTED[set]?.(OFFLINE);
      const ns = OFFLINE.release;
      expect(permissionsOf(objs, ns, 'ebb-controller'), set).toEqual(
        [...new Set(expected?.controller)].sort(),
      );
      expect(permissionsOf(objs, ns, 'ebb-activator'), set).toEqual([...new Set(expected?.activator)].sort());
      // Every rule and binding is checked below: a render without them would pass vacuously.
      expect(allRules(objs).length, set).toBeGreaterThan(5);
      for (const { role, rule } of allRules(objs)) {
        const where = `${set}: ${role}`;
        expect(rule.nonResourceURLs, where).toBeUndefined();
        expect(rule.verbs, where).not.toContain('*');
        for (const v of ['escalate', 'bind', 'impersonate', 'deletecollection'])
          expect(rule.verbs, where).not.toContain(v);
        for (const r of rule.resources ?? []) {
          if (r.includes('*')) expect(r, where).toBe('*/scale');
          if (r === 'secrets')
            expect(
              rule.verbs.every((v) => ['get', 'list', 'watch'].includes(v)),
              where,
            ).toBe(true);
          // Endpoints and slices: read (the activator), create, or get/update/delete of ebb's own one.
          if (r === 'endpoints' || r === 'endpointslices') {
            const read = rule.verbs.every((v) => ['list', 'watch'].includes(v));
            const create = rule.verbs.length === 1 && rule.verbs[0] === 'create';
            const own =
              rule.resourceNames?.length === 1 &&
              rule.verbs.every((v) => ['get', 'update', 'delete'].includes(v));
            expect(read || create || own, `${where} ${r} ${rule.verbs.join(',')}`).toBe(true);
            if (create || own) expect(rule.resources, where).toEqual([r]);
          }
        }
        if (rule.apiGroups?.includes('*')) expect(rule.resources, where).toEqual(['*/scale']);
        if (rule.resources?.includes('*/scale'))
          expect([...rule.verbs].sort(), where).toEqual(['get', 'patch', 'update']);
      }
      const bindings = [...byKind(objs, 'RoleBinding'), ...byKind(objs, 'ClusterRoleBinding')];
      expect(bindings.length, set).toBeGreaterThan(1);
      for (const b of bindings) {
        const { roleRef, subjects } = b as unknown as {
          roleRef: { kind: string; name: string };
          subjects: { kind: string; namespace: string }[];
        };
        expect(['cluster-admin', 'admin', 'edit', 'system:auth-delegator']).not.toContain(roleRef.name);
        expect(subjects.length, `${set}: ${b.kind} ${b.metadata.name} subjects`).toBeGreaterThan(0);
        for (const s of subjects) expect(s).toMatchObject({ kind: 'ServiceAccount', namespace: ns });
      }
    }
  });
});
