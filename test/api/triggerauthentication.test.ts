import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fail, ok, type Result } from '../../src/api/reasons.ts';
import type { AuthenticationRef } from '../../src/api/scaledobject.ts';
import {
  type AuthenticationFailure,
  type AuthLookup,
  type AuthParams,
  ClusterTriggerAuthenticationSchema,
  parseAuthSpec,
  referencedSecrets,
  resolveTriggerAuth,
  type SecretRead,
  TriggerAuthenticationSchema,
  TriggerAuthenticationSpecSchema,
  unsupportedSources,
} from '../../src/api/triggerauthentication.ts';

// ---- schema: KEDA manifests apply with only the apiVersion changed ----

const kedaManifest = (kind: string, spec: string) =>
  parseYaml(`apiVersion: autoscaling.ebb.dev/v1alpha1
kind: ${kind}
metadata:
  name: keda-trigger-auth
  namespace: default
spec:
${spec}`);

// Examples from KEDA's docs (concepts/authentication), indented under `spec:`.
const KEDA_SPECS: { label: string; spec: string }[] = [
  {
    label: 'secretTargetRef',
    spec: `  secretTargetRef:
  - parameter: connectionString
    name: my-keda-secret-entity
    key: azure-storage-connectionstring`,
  },
  {
    label: 'env',
    spec: '  env:\n  - parameter: region\n    name: my-env-var\n    containerName: my-container',
  },
  {
    label: 'configMapTargetRef',
    spec: '  configMapTargetRef:\n  - parameter: host\n    name: my-config\n    key: host',
  },
  {
    label: 'hashiCorpVault',
    spec: `  hashiCorpVault:
    address: https://vault.example.com:8200
    namespace: keda
    authentication: token
    credential:
      token: my-token
    secrets:
    - parameter: password
      key: password
      path: secret/data/keda
      type: secretV2
    - parameter: cert
      key: certificate
      path: pki
      type: pki
      pkiData:
        commonName: keda.example.com
        ttl: 24h`,
  },
  {
    label: 'azureKeyVault',
    spec: `  azureKeyVault:
    vaultUri: https://keda.vault.azure.net
    credentials:
      clientId: id
      tenantId: tenant
      clientSecret:
        valueFrom:
          secretKeyRef:
            name: azure-secret
            key: clientSecret
    secrets:
    - parameter: connection
      name: connection-string
      version: "1"`,
  },
  {
    label: 'awsSecretManager',
    spec: `  awsSecretManager:
    podIdentity:
      provider: aws
    region: eu-west-1
    secrets:
    - parameter: password
      name: my-secret
      versionStage: AWSCURRENT`,
  },
  {
    label: 'gcpSecretManager',
    spec: `  gcpSecretManager:
    secrets:
    - parameter: password
      id: my-secret
      version: latest
    podIdentity:
      provider: gcp`,
  },
  {
    label: 'podIdentity azure-workload',
    spec: '  podIdentity:\n    provider: azure-workload\n    identityId: abc\n    identityOwner: keda',
  },
  {
    label: 'boundServiceAccountToken',
    spec: '  boundServiceAccountToken:\n  - parameter: token\n    serviceAccountName: sa',
  },
  {
    label: 'oauth2',
    spec: `  oauth2:
    type: clientCredentials
    clientId: id
    tokenUrl: https://auth.example.com/token
    scopes: [read]
    clientSecret:
      valueFrom:
        secretKeyRef: { name: oauth, key: secret }`,
  },
  { label: 'filePath', spec: '  filePath: /var/run/secrets/keda/auth.json' },
];

describe('TriggerAuthentication schema', () => {
  it.each(KEDA_SPECS)('accepts KEDA docs example: $label', ({ spec }) => {
    expect(
      TriggerAuthenticationSchema.safeParse(kedaManifest('TriggerAuthentication', spec)).error,
    ).toBeUndefined();
    const cluster = kedaManifest('ClusterTriggerAuthentication', spec);
    expect(ClusterTriggerAuthenticationSchema.safeParse(cluster).error).toBeUndefined();
  });

  it('keeps the sources it does not resolve as written', () => {
    const spec = TriggerAuthenticationSpecSchema.parse(
      kedaManifest('TriggerAuthentication', KEDA_SPECS[3]?.spec ?? '').spec,
    );
    expect(spec.hashiCorpVault).toMatchObject({
      address: 'https://vault.example.com:8200',
      authentication: 'token',
    });
  });

  const rows: { label: string; spec: unknown; problems: string[] }[] = [
    { label: 'an empty spec', spec: {}, problems: [] },
    {
      label: 'a secretTargetRef without key',
      spec: { secretTargetRef: [{ parameter: 'p', name: 's' }] },
      problems: ['spec.secretTargetRef[0].key: is required'],
    },
    {
      label: 'an empty parameter',
      spec: { secretTargetRef: [{ parameter: '', name: 's', key: 'k' }] },
      problems: ['spec.secretTargetRef[0].parameter: must not be empty'],
    },
    {
      label: 'an unknown pod identity provider',
      spec: { podIdentity: { provider: 'azure' } },
      problems: [
        'spec.podIdentity.provider: must be one of "azure-workload", "gcp", "aws", "aws-eks", "none", got "azure"',
      ],
    },
    {
      label: 'secretTargetRef that is not a list',
      spec: { secretTargetRef: { parameter: 'p', name: 's', key: 'k' } },
      problems: ['spec.secretTargetRef: must be of type array, got object'],
    },
  ];
  it.each(rows)('$label', ({ spec, problems }) => {
    const parsed = parseAuthSpec({ spec });
    expect(parsed.ok ? [] : parsed.error.split('; ')).toEqual(problems);
  });

  it('a missing spec is reported', () => {
    expect(parseAuthSpec({ metadata: { name: 'x' } })).toEqual(fail('spec: is required'));
  });
});

// ---- which sources ebb resolves ----

describe('unsupportedSources', () => {
  const rows: { label: string; spec: Record<string, unknown>; found: RegExp[] }[] = [
    {
      label: 'secretTargetRef only',
      spec: { secretTargetRef: [{ parameter: 'p', name: 's', key: 'k' }] },
      found: [],
    },
    { label: 'podIdentity none', spec: { podIdentity: { provider: 'none' } }, found: [] },
    {
      label: 'empty lists and an empty filePath',
      spec: { env: [], configMapTargetRef: [], filePath: '' },
      found: [],
    },
    {
      label: 'env, because ebb runs outside the pod',
      spec: { env: [{ parameter: 'p', name: 'E' }] },
      found: [
        /^spec\.env: env is not supported by ebb \(supported: secretTargetRef, podIdentity\.provider "none"\): ebb runs outside the scaled workload's pods.*use secretTargetRef$/,
      ],
    },
    {
      label: 'podIdentity aws',
      spec: { podIdentity: { provider: 'aws' } },
      found: [
        /^spec\.podIdentity\.provider: podIdentity provider "aws" is not supported by ebb \(supported: secretTargetRef, podIdentity\.provider "none"\)$/,
      ],
    },
    {
      label: 'vault and aws together, each by name',
      spec: { hashiCorpVault: { address: 'x' }, awsSecretManager: { secrets: [] } },
      found: [
        /^spec\.hashiCorpVault: hashiCorpVault is not supported by ebb \(supported: /,
        /^spec\.awsSecretManager: awsSecretManager is not supported by ebb \(supported: /,
      ],
    },
    {
      label: 'a field KEDA does not have (a typo)',
      spec: { secretTargetRefs: [{ parameter: 'p', name: 's', key: 'k' }] },
      found: [
        /^spec\.secretTargetRefs: secretTargetRefs is not a TriggerAuthentication field ebb knows \(did you mean "secretTargetRef"\?\)$/,
      ],
    },
  ];
  it.each(rows)('$label', ({ spec, found }) => {
    const parsed = TriggerAuthenticationSpecSchema.parse(spec);
    const got = unsupportedSources(parsed);
    expect(got).toHaveLength(found.length);
    for (const [i, pattern] of found.entries()) expect(got[i]).toMatch(pattern);
  });

  it('referencedSecrets lists each Secret once', () => {
    const spec = TriggerAuthenticationSpecSchema.parse({
      secretTargetRef: [
        { parameter: 'a', name: 's1', key: 'k' },
        { parameter: 'b', name: 's2', key: 'k' },
        { parameter: 'c', name: 's1', key: 'l' },
      ],
    });
    expect(referencedSecrets(spec)).toEqual(['s1', 's2']);
  });
});

// ---- resolution against an in-memory cluster ----

const PASSWORD = 'hunter2-do-not-print';
const CLUSTER_PASSWORD = 'cluster-s3cret-do-not-print';

const ta = (name: string, spec: Record<string, unknown>) => ({ metadata: { name }, spec });
const ref = (parameter: string, name: string, key: string) => ({ parameter, name, key });

/** A tiny cluster: objects by `namespace/name` (cluster-scoped: name), Secrets' decoded data. */
const fakeCluster = (): AuthLookup => {
  const triggerAuths: Record<string, unknown> = {
    'team-a/kafka': ta('kafka', {
      secretTargetRef: [ref('username', 'kafka-creds', 'user'), ref('password', 'kafka-creds', 'pass')],
    }),
    'team-a/two-secrets': ta('two-secrets', {
      secretTargetRef: [ref('ca', 'tls', 'ca.crt'), ref('password', 'kafka-creds', 'pass')],
    }),
    'team-a/missing-key': ta('missing-key', {
      secretTargetRef: [ref('username', 'kafka-creds', 'user'), ref('password', 'kafka-creds', 'passwd')],
    }),
    'team-a/missing-secret': ta('missing-secret', { secretTargetRef: [ref('password', 'nope', 'pass')] }),
    'team-a/forbidden': ta('forbidden', { secretTargetRef: [ref('password', 'locked', 'pass')] }),
    'team-a/repeated': ta('repeated', {
      secretTargetRef: [ref('password', 'kafka-creds', 'user'), ref('password', 'kafka-creds', 'pass')],
    }),
    'team-a/env': ta('env', { env: [{ parameter: 'password', name: 'PASSWORD' }] }),
    'team-a/vault': ta('vault', {
      secretTargetRef: [ref('username', 'kafka-creds', 'user')],
      hashiCorpVault: { address: 'https://vault', authentication: 'token', secrets: [] },
    }),
    'team-a/gcp': ta('gcp', { podIdentity: { provider: 'gcp' } }),
    'team-a/none': ta('none', { podIdentity: { provider: 'none' } }),
    'team-a/broken': ta('broken', { secretTargetRef: [{ parameter: 'password', name: 'kafka-creds' }] }),
  };
  const clusterTriggerAuths: Record<string, unknown> = {
    shared: ta('shared', { secretTargetRef: [ref('password', 'shared-creds', 'pass')] }),
    'not-in-cluster-ns': ta('not-in-cluster-ns', {
      secretTargetRef: [ref('password', 'kafka-creds', 'pass')],
    }),
  };
  const secrets: Record<string, AuthParams> = {
    'team-a/kafka-creds': { user: 'alice', pass: PASSWORD },
    'team-a/tls': { 'ca.crt': '-----BEGIN CERTIFICATE-----' },
    'team-b/kafka-creds': { user: 'bob', pass: 'b-pass' },
    'ebb-system/shared-creds': { pass: CLUSTER_PASSWORD },
    'platform/shared-creds': { pass: 'platform-pass' },
  };
  return {
    triggerAuthentication: (namespace, name) => triggerAuths[`${namespace}/${name}`],
    clusterTriggerAuthentication: (name) => clusterTriggerAuths[name],
    secret: (namespace, name): SecretRead =>
      name === 'locked'
        ? fail('GET /api/v1/namespaces/team-a/secrets/locked: 403 secrets "locked" is forbidden')
        : ok(secrets[`${namespace}/${name}`]),
  };
};

const CTA = 'ClusterTriggerAuthentication' as const;

interface Row {
  label: string;
  ref: AuthenticationRef;
  namespace?: string;
  clusterNamespace?: string;
  params?: AuthParams;
  /** The whole message: it names the object, the field, the Secret and the key. */
  error?: string;
}

const rows: Row[] = [
  {
    label: 'two keys of one Secret',
    ref: { name: 'kafka' },
    params: { username: 'alice', password: PASSWORD },
  },
  {
    label: 'kind TriggerAuthentication written out',
    ref: { name: 'kafka', kind: 'TriggerAuthentication' },
    params: { username: 'alice', password: PASSWORD },
  },
  {
    label: 'two Secrets',
    ref: { name: 'two-secrets' },
    params: { ca: '-----BEGIN CERTIFICATE-----', password: PASSWORD },
  },
  {
    label: 'a repeated parameter: the later entry wins (KEDA)',
    ref: { name: 'repeated' },
    params: { password: PASSWORD },
  },
  { label: 'podIdentity none gives nothing', ref: { name: 'none' }, params: {} },
  {
    label: 'the TriggerAuthentication is looked up in the trigger namespace',
    ref: { name: 'kafka' },
    namespace: 'team-b',
    error: 'TriggerAuthentication team-b/kafka not found',
  },
  {
    label: 'a missing key names the Secret and the key',
    ref: { name: 'missing-key' },
    error:
      'TriggerAuthentication team-a/missing-key: spec.secretTargetRef[1] (parameter "password"): ' +
      'Secret team-a/kafka-creds has no key "passwd"',
  },
  {
    label: 'a missing Secret',
    ref: { name: 'missing-secret' },
    error:
      'TriggerAuthentication team-a/missing-secret: spec.secretTargetRef[0] (parameter "password"): ' +
      'Secret team-a/nope not found',
  },
  {
    label: 'a Secret that cannot be read',
    ref: { name: 'forbidden' },
    error:
      'TriggerAuthentication team-a/forbidden: spec.secretTargetRef[0] (parameter "password"): cannot read ' +
      'Secret team-a/locked: GET /api/v1/namespaces/team-a/secrets/locked: 403 secrets "locked" is forbidden',
  },
  {
    label: 'env is refused, not resolved to ""',
    ref: { name: 'env' },
    error:
      'TriggerAuthentication team-a/env: spec.env: env is not supported by ebb (supported: secretTargetRef, podIdentity.provider "none"): ' +
      "ebb runs outside the scaled workload's pods and cannot read their environment; put the value in a Secret and use secretTargetRef",
  },
  {
    label: 'an unsupported source fails the whole TriggerAuthentication',
    ref: { name: 'vault' },
    error:
      'TriggerAuthentication team-a/vault: spec.hashiCorpVault: hashiCorpVault is not supported by ebb ' +
      '(supported: secretTargetRef, podIdentity.provider "none")',
  },
  {
    label: 'podIdentity gcp',
    ref: { name: 'gcp' },
    error:
      'TriggerAuthentication team-a/gcp: spec.podIdentity.provider: podIdentity provider "gcp" is not supported by ebb ' +
      '(supported: secretTargetRef, podIdentity.provider "none")',
  },
  {
    label: 'an object the schema refuses names the field',
    ref: { name: 'broken' },
    error: 'TriggerAuthentication team-a/broken: spec.secretTargetRef[0].key: is required',
  },
  {
    label: 'ClusterTriggerAuthentication: Secrets from the cluster object namespace (default ebb-system)',
    ref: { name: 'shared', kind: CTA },
    params: { password: CLUSTER_PASSWORD },
  },
  {
    label: 'ClusterTriggerAuthentication: the same from any trigger namespace',
    ref: { name: 'shared', kind: CTA },
    namespace: 'team-b',
    params: { password: CLUSTER_PASSWORD },
  },
  {
    label: 'ClusterTriggerAuthentication: a configured cluster object namespace',
    ref: { name: 'shared', kind: CTA },
    clusterNamespace: 'platform',
    params: { password: 'platform-pass' },
  },
  {
    label: 'ClusterTriggerAuthentication: never the trigger namespace',
    ref: { name: 'not-in-cluster-ns', kind: CTA },
    error:
      'ClusterTriggerAuthentication not-in-cluster-ns: spec.secretTargetRef[0] (parameter "password"): ' +
      'Secret ebb-system/kafka-creds not found (ClusterTriggerAuthentications read Secrets from this namespace)',
  },
  {
    label: 'a ClusterTriggerAuthentication is not a TriggerAuthentication of the same name',
    ref: { name: 'kafka', kind: CTA },
    error: 'ClusterTriggerAuthentication kafka not found',
  },
];

const SECRET_VALUES = [
  PASSWORD,
  CLUSTER_PASSWORD,
  'alice',
  'bob',
  'b-pass',
  'platform-pass',
  'BEGIN CERTIFICATE',
];

/** One helper for every row: params equal, or the exact message, which must carry no value. */
const expectResolved = (got: Result<AuthParams, AuthenticationFailure>, row: Row) => {
  if (row.error === undefined) {
    expect(got).toEqual(ok(row.params));
    return;
  }
  expect(got.ok, JSON.stringify(got)).toBe(false);
  if (got.ok) return;
  expect(got.error).toEqual({ reason: 'AuthenticationError', message: row.error });
  for (const value of SECRET_VALUES) expect(got.error.message).not.toContain(value);
};

describe('resolveTriggerAuth', () => {
  const cluster = fakeCluster();
  it.each(rows)('$label', (row) => {
    const got = resolveTriggerAuth(cluster, row.namespace ?? 'team-a', row.ref, row.clusterNamespace);
    expectResolved(got, row);
  });

  it('reports every missing Secret and key at once, reading each Secret once', () => {
    const reads: string[] = [];
    const lookup: AuthLookup = {
      ...cluster,
      triggerAuthentication: () =>
        ta('many', {
          secretTargetRef: [ref('a', 'gone', 'x'), ref('b', 'gone', 'y'), ref('c', 'kafka-creds', 'z')],
        }),
      secret: (namespace, name) => {
        reads.push(`${namespace}/${name}`);
        return cluster.secret(namespace, name);
      },
    };
    const got = resolveTriggerAuth(lookup, 'team-a', { name: 'many' });
    expect(got).toEqual(
      fail({
        reason: 'AuthenticationError',
        message:
          'TriggerAuthentication team-a/many: ' +
          'spec.secretTargetRef[0] (parameter "a"): Secret team-a/gone not found; ' +
          'spec.secretTargetRef[1] (parameter "b"): Secret team-a/gone not found; ' +
          'spec.secretTargetRef[2] (parameter "c"): Secret team-a/kafka-creds has no key "z"',
      }),
    );
    expect(reads).toEqual(['team-a/gone', 'team-a/kafka-creds']);
  });
});
