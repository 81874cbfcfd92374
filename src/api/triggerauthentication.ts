// TriggerAuthentication and ClusterTriggerAuthentication: KEDA's spec field by field, so a KEDA
// manifest applies with only its apiVersion changed, and the pure resolution of one
// authenticationRef into a trigger's auth parameters (no I/O: the caller hands in lookups).
//
// ebb resolves `secretTargetRef` (and `podIdentity.provider: none`). Every other source KEDA
// defines is accepted by the schema (kept as written) and refused at resolution by name, never
// ignored: a trigger silently missing its password fails later, far from the cause.
// Departures from KEDA (pkg/scaling/resolver/scale_resolvers.go), on purpose:
// - a missing TriggerAuthentication, Secret or key is an AuthenticationError naming it; KEDA
//   logs it and hands the scaler "" for that parameter;
// - `env` is refused: KEDA reads the scaled workload's container env, which ebb (outside the
//   pod) cannot see; put the value in a Secret;
// - a ClusterTriggerAuthentication reads Secrets from ebb's cluster object namespace (the
//   controller's `clusterNamespace` option, default `ebb-system`), as KEDA reads them from
//   KEDA_CLUSTER_OBJECT_NAMESPACE (its own namespace by default).
import { z } from 'zod';
import { didYouMean } from './closest.ts';
import { parseWith } from './parse.ts';
import {
  AuthenticationError,
  fail,
  ok,
  type Result,
  UnsupportedAuthSource,
  type ValidateProblem,
} from './reasons.ts';
import { type AuthenticationRef, ObjectMetaSchema } from './scaledobject.ts';

export const TRIGGER_AUTHENTICATION = 'TriggerAuthentication';
export const CLUSTER_TRIGGER_AUTHENTICATION = 'ClusterTriggerAuthentication';
export type AuthKind = typeof TRIGGER_AUTHENTICATION | typeof CLUSTER_TRIGGER_AUTHENTICATION;
export const TRIGGER_AUTHENTICATION_PLURAL = 'triggerauthentications';
export const CLUSTER_TRIGGER_AUTHENTICATION_PLURAL = 'clustertriggerauthentications';
/** Where ClusterTriggerAuthentications' Secrets live unless the controller is told otherwise. */
export const DEFAULT_CLUSTER_OBJECT_NAMESPACE = 'ebb-system';

// ---- schema (KEDA's apis/keda/v1alpha1/triggerauthentication_types.go) ----

const required = z.string().min(1);

export const AuthSecretTargetRefSchema = z.object({
  parameter: required.describe('The trigger parameter this value fills, e.g. `password`.'),
  name: required.describe(
    'The Secret: in the TriggerAuthentication namespace, or in the cluster object namespace for a ClusterTriggerAuthentication.',
  ),
  key: required.describe("The key in the Secret's data."),
});

export const AuthConfigMapTargetRefSchema = z.object({
  parameter: required,
  name: required,
  key: required,
});

export const AuthEnvironmentSchema = z.object({
  parameter: required,
  name: required,
  containerName: z.string().optional(),
});

export const POD_IDENTITY_PROVIDERS = ['azure-workload', 'gcp', 'aws', 'aws-eks', 'none'] as const;

export const AuthPodIdentitySchema = z.object({
  provider: z.enum(POD_IDENTITY_PROVIDERS).describe('ebb supports `none` only.'),
  identityId: z.string().optional(),
  identityTenantId: z.string().optional(),
  identityAuthorityHost: z.string().optional(),
  roleArn: z.string().optional(),
  externalID: z.string().optional(),
  identityOwner: z.enum(['keda', 'workload']).optional(),
});

export const BoundServiceAccountTokenSchema = z.object({
  parameter: required,
  serviceAccountName: required,
});

/** A source ebb does not resolve: kept as written so a KEDA manifest applies; refused by name. */
const keptAsWritten = (what: string) =>
  z.looseObject({}).describe(`${what}, as KEDA defines it. Accepted, but not resolved by ebb yet.`);

const SPEC_FIELDS = {
  podIdentity: AuthPodIdentitySchema.optional(),
  secretTargetRef: z.array(AuthSecretTargetRefSchema).optional(),
  configMapTargetRef: z.array(AuthConfigMapTargetRefSchema).optional(),
  env: z.array(AuthEnvironmentSchema).optional(),
  filePath: z.string().optional(),
  hashiCorpVault: keptAsWritten('HashiCorp Vault').optional(),
  azureKeyVault: keptAsWritten('Azure Key Vault').optional(),
  gcpSecretManager: keptAsWritten('GCP Secret Manager').optional(),
  awsSecretManager: keptAsWritten('AWS Secrets Manager').optional(),
  boundServiceAccountToken: z.array(BoundServiceAccountTokenSchema).optional(),
  oauth2: keptAsWritten('OAuth2 client credentials').optional(),
} as const;

/**
 * Open (unknown fields are kept, not pruned): a field ebb does not know, a typo or a source a
 * newer KEDA added, is then refused at resolution by name instead of silently dropped.
 */
export const TriggerAuthenticationSpecSchema = z.looseObject(SPEC_FIELDS);

/** KEDA's status (written by KEDA's controller; ebb does not write it yet). */
export const TriggerAuthenticationStatusSchema = z.object({
  scaledobjects: z.string().optional(),
  scaledjobs: z.string().optional(),
});

export const TriggerAuthenticationSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal(TRIGGER_AUTHENTICATION),
  metadata: ObjectMetaSchema,
  spec: TriggerAuthenticationSpecSchema,
  status: TriggerAuthenticationStatusSchema.optional(),
});

export const ClusterTriggerAuthenticationSchema = TriggerAuthenticationSchema.extend({
  kind: z.literal(CLUSTER_TRIGGER_AUTHENTICATION),
});

export type AuthSecretTargetRef = z.infer<typeof AuthSecretTargetRefSchema>;
export type AuthPodIdentity = z.infer<typeof AuthPodIdentitySchema>;
export type TriggerAuthenticationSpec = z.infer<typeof TriggerAuthenticationSpecSchema>;
export type TriggerAuthentication = z.infer<typeof TriggerAuthenticationSchema>;
export type ClusterTriggerAuthentication = z.infer<typeof ClusterTriggerAuthenticationSchema>;

// ---- resolution (pure) ----

/** Why an authenticationRef gave no parameters. The message names objects and keys, never a value. */
export interface AuthenticationFailure {
  readonly reason: typeof AuthenticationError;
  readonly message: string;
}

export type AuthParams = Readonly<Record<string, string>>;

/**
 * One Secret read: its decoded data, undefined when it does not exist, or why it could not be
 * read (an API error message; never a value).
 */
export type SecretRead = Result<AuthParams | undefined, string>;

/** What a resolved spec needs from Secrets, all in `secretNamespace`. */
export interface AuthPlan {
  /** `TriggerAuthentication team-a/kafka`, `ClusterTriggerAuthentication kafka`. */
  readonly subject: string;
  readonly secretNamespace: string;
  readonly clusterScoped: boolean;
  readonly secretRefs: readonly (AuthSecretTargetRef & { readonly path: string })[];
}

export const authKindOf = (ref: AuthenticationRef): AuthKind => ref.kind ?? TRIGGER_AUTHENTICATION;

export const describeAuth = (kind: AuthKind, namespace: string, name: string): string =>
  kind === CLUSTER_TRIGGER_AUTHENTICATION ? `${kind} ${name}` : `${kind} ${namespace}/${name}`;

const failure = (message: string): { ok: false; error: AuthenticationFailure } =>
  fail({ reason: AuthenticationError, message });

/** What ebb resolves, as every refusal of another source says. */
export const SUPPORTED_AUTH_SOURCES = 'secretTargetRef, podIdentity.provider "none"';

/** The sources KEDA defines that ebb does not resolve, by spec field, with a hint where one helps. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  env: ": ebb runs outside the scaled workload's pods and cannot read their environment; put the value in a Secret and use secretTargetRef",
  configMapTargetRef: '',
  filePath: '',
  hashiCorpVault: '',
  azureKeyVault: '',
  gcpSecretManager: '',
  awsSecretManager: '',
  boundServiceAccountToken: '',
  oauth2: '',
};

/** The fields KEDA's TriggerAuthentication spec has (for "did you mean" on a typo). */
const KNOWN_FIELDS: readonly string[] = Object.keys(SPEC_FIELDS);

const isSet = (value: unknown): boolean =>
  value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);

/**
 * Every source the spec uses that ebb cannot resolve, each at its field:
 * `spec.hashiCorpVault: hashiCorpVault is not supported by ebb (supported: secretTargetRef, ...)`.
 * A field KEDA does not have either (a typo) is named with the closest one.
 */
export const unsupportedSourceProblems = (spec: TriggerAuthenticationSpec): ValidateProblem[] => {
  const found: ValidateProblem[] = [];
  const add = (path: string, message: string) => found.push({ path, reason: UnsupportedAuthSource, message });
  for (const [field, value] of Object.entries(spec)) {
    if (!isSet(value)) continue;
    if (field === 'podIdentity' || field === 'secretTargetRef') continue;
    const hint = UNSUPPORTED[field];
    add(
      `spec.${field}`,
      hint === undefined
        ? `${field} is not a TriggerAuthentication field ebb knows${didYouMean(field, KNOWN_FIELDS)}`
        : `${field} is not supported by ebb (supported: ${SUPPORTED_AUTH_SOURCES})${hint}`,
    );
  }
  const provider = spec.podIdentity?.provider;
  if (provider !== undefined && provider !== 'none') {
    add(
      'spec.podIdentity.provider',
      `podIdentity provider "${provider}" is not supported by ebb (supported: ${SUPPORTED_AUTH_SOURCES})`,
    );
  }
  return found;
};

/** Every source the spec uses that ebb cannot resolve, as `spec.<field>: why`. */
export const unsupportedSources = (spec: TriggerAuthenticationSpec): string[] =>
  unsupportedSourceProblems(spec).map((p) => `${p.path}: ${p.message}`);

/** The Secrets (names) a spec reads, for watching them; parameters map onto them in order. */
export const referencedSecrets = (spec: TriggerAuthenticationSpec): string[] => [
  ...new Set((spec.secretTargetRef ?? []).map((r) => r.name)),
];

/** The spec of a raw (Cluster)TriggerAuthentication, or why it is not one ebb can read. */
export const parseAuthSpec = (object: unknown): Result<TriggerAuthenticationSpec, string> => {
  const parsed = parseWith(z.object({ spec: TriggerAuthenticationSpecSchema }), object);
  if (parsed.ok) return ok(parsed.value.spec);
  return fail(parsed.error.map((p) => `${p.path}: ${p.message}`).join('; '));
};

/**
 * Step 1: the authenticationRef and the object it names (undefined: not found) → which keys of
 * which Secrets fill which parameters, or why the object cannot be resolved at all.
 */
export const planTriggerAuth = (
  ref: AuthenticationRef,
  namespace: string,
  object: unknown,
  clusterNamespace: string,
): Result<AuthPlan, AuthenticationFailure> => {
  const kind = authKindOf(ref);
  const clusterScoped = kind === CLUSTER_TRIGGER_AUTHENTICATION;
  const subject = describeAuth(kind, namespace, ref.name);
  if (object === undefined) return failure(`${subject} not found`);
  const spec = parseAuthSpec(object);
  if (!spec.ok) return failure(`${subject}: ${spec.error}`);
  const unsupported = unsupportedSources(spec.value);
  if (unsupported.length > 0) return failure(`${subject}: ${unsupported.join('; ')}`);
  return ok({
    subject,
    clusterScoped,
    secretNamespace: clusterScoped ? clusterNamespace : namespace,
    secretRefs: (spec.value.secretTargetRef ?? []).map((r, i) => ({
      ...r,
      path: `spec.secretTargetRef[${i}]`,
    })),
  });
};

/**
 * Step 2: the plan and a Secret reader → parameters. Later entries win for a repeated
 * parameter (KEDA fills a map in order). Every missing Secret and key is reported at once.
 */
export const applyAuthPlan = (
  plan: AuthPlan,
  readSecret: (name: string) => SecretRead,
): Result<AuthParams, AuthenticationFailure> => {
  const reads = new Map<string, SecretRead>();
  const params: Record<string, string> = {};
  const problems: string[] = [];
  for (const ref of plan.secretRefs) {
    let read = reads.get(ref.name);
    if (read === undefined) {
      read = readSecret(ref.name);
      reads.set(ref.name, read);
    }
    const secret = `Secret ${plan.secretNamespace}/${ref.name}`;
    const at = `${ref.path} (parameter "${ref.parameter}")`;
    if (!read.ok) problems.push(`${at}: cannot read ${secret}: ${read.error}`);
    else if (read.value === undefined) {
      const where = plan.clusterScoped
        ? ' (ClusterTriggerAuthentications read Secrets from this namespace)'
        : '';
      problems.push(`${at}: ${secret} not found${where}`);
    } else {
      const value = read.value[ref.key];
      if (value === undefined) problems.push(`${at}: ${secret} has no key "${ref.key}"`);
      else params[ref.parameter] = value;
    }
  }
  if (problems.length > 0) return failure(`${plan.subject}: ${problems.join('; ')}`);
  return ok(params);
};

/** Where resolution reads from; the Kubernetes adapter serves it from its caches, tests from maps. */
export interface AuthLookup {
  /** The raw object, or undefined when there is none. */
  triggerAuthentication(namespace: string, name: string): unknown;
  clusterTriggerAuthentication(name: string): unknown;
  secret(namespace: string, name: string): SecretRead;
}

/** An authenticationRef of a trigger in `namespace` → its parameters (plan, then read Secrets). */
export const resolveTriggerAuth = (
  lookup: AuthLookup,
  namespace: string,
  ref: AuthenticationRef,
  clusterNamespace: string = DEFAULT_CLUSTER_OBJECT_NAMESPACE,
): Result<AuthParams, AuthenticationFailure> => {
  const object =
    authKindOf(ref) === CLUSTER_TRIGGER_AUTHENTICATION
      ? lookup.clusterTriggerAuthentication(ref.name)
      : lookup.triggerAuthentication(namespace, ref.name);
  const plan = planTriggerAuth(ref, namespace, object, clusterNamespace);
  if (!plan.ok) return plan;
  return applyAuthPlan(plan.value, (name) => lookup.secret(plan.value.secretNamespace, name));
};
