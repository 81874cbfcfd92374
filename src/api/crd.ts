// ebb's CustomResourceDefinitions (ScaledObject, TriggerAuthentication,
// ClusterTriggerAuthentication), generated from the zod schemas in `scaledobject.ts` and
// `triggerauthentication.ts` (`npm run crds` writes `crds/`; a test fails when it is stale).
//
// z.toJSONSchema gives JSON Schema; the API server wants a *structural* OpenAPI v3 schema: every
// node typed, no `$schema`/`$ref`/`default`, no `additionalProperties` beside `properties`,
// unions folded into one typed node. `toStructural` does that pass. The cross-field rules of
// `rules.ts` are added as CEL `x-kubernetes-validations` so the API server refuses them first.
import { stringify } from 'yaml';
import { z } from 'zod';
import { DEFAULT_MAX_REPLICAS, RESOURCE_TRIGGER_TYPES } from './rules.ts';
import {
  GROUP,
  KIND,
  PLURAL,
  ScaledObjectSpecSchema,
  ScaledObjectStatusSchema,
  VERSION,
} from './scaledobject.ts';
import {
  CLUSTER_TRIGGER_AUTHENTICATION,
  CLUSTER_TRIGGER_AUTHENTICATION_PLURAL,
  DEFAULT_CLUSTER_OBJECT_NAMESPACE,
  TRIGGER_AUTHENTICATION,
  TRIGGER_AUTHENTICATION_PLURAL,
  TriggerAuthenticationSpecSchema,
  TriggerAuthenticationStatusSchema,
} from './triggerauthentication.ts';

type JSONSchema = z.core.JSONSchema.JSONSchema;
type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid';
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps a structural schema uses. */
export interface StructuralSchema {
  type?: SchemaType;
  description?: string;
  format?: string;
  nullable?: boolean;
  enum?: unknown[];
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  anyOf?: StructuralSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
/** Formats the API server knows (k8s.io/kube-openapi strfmt); others are dropped. */
const KNOWN_FORMATS: ReadonlySet<string> = new Set([
  ...['int32', 'int64', 'float', 'double', 'byte', 'binary', 'date', 'date-time', 'duration', 'password'],
  ...['uri', 'email', 'hostname', 'ipv4', 'ipv6', 'cidr', 'mac', 'uuid'],
]);
/** Keywords that keep their meaning unchanged in a structural schema. */
const COPIED = [
  'description',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
] as const;
/** Keywords with no structural equivalent: refused loudly rather than silently loosened. */
const REFUSED = ['$ref', 'not', 'if', 'patternProperties', 'prefixItems', 'dependentSchemas'] as const;

const at = (path: string, what: string): Error => new Error(`crd: ${path}: ${what}`);

const asSchema = (s: unknown, path: string): JSONSchema => {
  if (s === true || (typeof s === 'object' && s !== null && Object.keys(s).length === 0)) return {};
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw at(path, 'expected a schema object');
  return s as JSONSchema;
};

/** JSON Schema (from z.toJSONSchema) → structural schema. Throws, naming the path, when it cannot. */
export const toStructural = (input: JSONSchema, path = '$'): StructuralSchema => {
  for (const k of REFUSED) if (input[k] !== undefined) throw at(path, `"${k}" has no structural equivalent`);
  // A map's keys are strings anyway; any narrower key schema cannot be said structurally.
  const keys = input.propertyNames;
  if (keys !== undefined && Object.keys(asSchema(keys, path)).some((k) => k !== 'type')) {
    throw at(path, 'a record key schema has no structural equivalent');
  }
  const branches = input.anyOf ?? input.oneOf;
  if (branches !== undefined) return foldUnion(input, branches, path);
  if (input.allOf !== undefined) {
    const { allOf, ...rest } = input;
    return toStructural(
      allOf.reduce<JSONSchema>((acc, s) => intersect(acc, s, path), rest),
      path,
    );
  }

  const out: StructuralSchema = {};
  let type = input.type;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== 'null');
    if (nonNull.length !== type.length) out.nullable = true;
    if (nonNull.length !== 1) throw at(path, `cannot type a node as ${type.join(' | ')}`);
    type = nonNull[0];
  }
  if (type === 'null') throw at(path, 'a node that is only null has no structural type');
  if (input.nullable === true) out.nullable = true;
  if (type !== undefined) out.type = type;
  for (const k of COPIED) if (input[k] !== undefined) Object.assign(out, { [k]: input[k] });
  if (input.const !== undefined) out.enum = [input.const];
  if (input.enum !== undefined) out.enum = [...input.enum];
  if (typeof input.format === 'string' && KNOWN_FORMATS.has(input.format)) out.format = input.format;

  if (type === 'integer' || type === 'number') Object.assign(out, numericBounds(input, type));
  if (type === 'object' || input.properties !== undefined) {
    out.type = 'object';
    if (input.properties !== undefined) {
      out.properties = {};
      for (const [name, s] of Object.entries(input.properties)) {
        out.properties[name] = toStructural(asSchema(s, `${path}.${name}`), `${path}.${name}`);
      }
      if (input.required !== undefined && input.required.length > 0) out.required = [...input.required];
    }
    const extra = input.additionalProperties;
    if (extra !== undefined && extra !== false) {
      const schema = asSchema(extra, `${path}.*`);
      // A record is a map; an open object (looseObject) keeps unknown fields instead of pruning them.
      if (Object.keys(schema).length === 0 || input.properties !== undefined) {
        out['x-kubernetes-preserve-unknown-fields'] = true;
      } else out.additionalProperties = toStructural(schema, `${path}.*`);
    }
  }
  if (type === 'array') {
    if (input.items === undefined || Array.isArray(input.items)) {
      throw at(path, 'an array needs one items schema');
    }
    out.items = toStructural(asSchema(input.items, `${path}[]`), `${path}[]`);
  }
  if (out.type === undefined) out['x-kubernetes-preserve-unknown-fields'] = true;
  return out;
};

// zod's int32 spells its range as bounds and z.int() the safe-integer range; both become a
// `format`. The API server does not enforce `format: int32` on custom resources (it stores
// 3000000000 as given), so an int32 keeps its range as explicit bounds: what ebb refuses as out
// of int32 the API server refuses first. The safe-integer bounds of an int64 are dropped.
// Draft 2020-12's numeric exclusive bounds become OpenAPI v3's boolean flags.
const numericBounds = (input: JSONSchema, type: 'integer' | 'number'): StructuralSchema => {
  const out: StructuralSchema = {};
  let { minimum, maximum } = input;
  if (typeof input.exclusiveMinimum === 'number') minimum = input.exclusiveMinimum;
  if (input.exclusiveMinimum !== undefined && input.exclusiveMinimum !== false) out.exclusiveMinimum = true;
  if (typeof input.exclusiveMaximum === 'number') maximum = input.exclusiveMaximum;
  if (input.exclusiveMaximum !== undefined && input.exclusiveMaximum !== false) out.exclusiveMaximum = true;
  if (type === 'integer') {
    const int32 = (minimum ?? -Infinity) >= INT32_MIN && (maximum ?? Infinity) <= INT32_MAX;
    out.format = int32 ? 'int32' : 'int64';
    if (int32) {
      minimum = Math.max(minimum ?? INT32_MIN, INT32_MIN);
      maximum = Math.min(maximum ?? INT32_MAX, INT32_MAX);
    }
    if (minimum === Number.MIN_SAFE_INTEGER) minimum = undefined;
    if (maximum === Number.MAX_SAFE_INTEGER) maximum = undefined;
  }
  if (minimum !== undefined) out.minimum = minimum;
  if (maximum !== undefined) out.maximum = maximum;
  return out;
};

/** allOf of objects (z.intersection) → one object with every property and every requirement. */
const intersect = (a: JSONSchema, b: JSONSchema, path: string): JSONSchema => {
  if ((a.type ?? 'object') !== 'object' || b.type !== 'object') {
    throw at(path, 'allOf is only folded for objects');
  }
  return {
    ...a,
    ...b,
    type: 'object',
    properties: { ...a.properties, ...b.properties },
    required: [...new Set([...(a.required ?? []), ...(b.required ?? [])])],
  };
};

// A union becomes one node: null members make it nullable; members of one type merge (objects:
// every property, required only where every member requires it; enums: their union); an integer
// or a string becomes x-kubernetes-int-or-string. Anything else cannot be structural.
const foldUnion = (input: JSONSchema, branches: JSONSchema[], path: string): StructuralSchema => {
  const { anyOf: _a, oneOf: _o, ...outer } = input;
  const members = branches.filter((b) => b.type !== 'null');
  const nullable = members.length !== branches.length || input.nullable === true;
  const withOuter = (s: StructuralSchema): StructuralSchema => ({
    ...s,
    ...(outer.description !== undefined ? { description: outer.description } : {}),
    ...(nullable ? { nullable: true } : {}),
  });
  const types = new Set(members.map((m) => m.type));
  if (members.length === 1) return withOuter(toStructural({ ...outer, ...members[0] }, path));
  if (types.size === 2 && types.has('string') && types.has('integer')) {
    const intOrString: StructuralSchema = { anyOf: [{ type: 'integer' }, { type: 'string' }] };
    return withOuter({ 'x-kubernetes-int-or-string': true, ...intOrString });
  }
  if (types.size !== 1 || members.some((m) => typeof m.type !== 'string')) {
    throw at(path, `a union of ${[...types].join(', ')} has no structural form`);
  }
  const parts = members.map((m, i) => toStructural(m, `${path}|${i}`));
  return withOuter(parts.reduce((a, b) => mergeSameType(a, b, path)));
};

const mergeSameType = (a: StructuralSchema, b: StructuralSchema, path: string): StructuralSchema => {
  if (a.type !== b.type) throw at(path, `cannot merge ${a.type} with ${b.type}`);
  const out: StructuralSchema = { ...(a.type !== undefined ? { type: a.type } : {}) };
  if (a.format !== undefined && a.format === b.format) out.format = a.format;
  if (a.enum !== undefined && b.enum !== undefined) out.enum = [...new Set([...a.enum, ...b.enum])];
  if (a.type === 'array' && a.items !== undefined && b.items !== undefined) {
    out.items = mergeSameType(a.items, b.items, `${path}[]`);
  }
  if (a.type === 'object') {
    const props: Record<string, StructuralSchema> = { ...a.properties };
    for (const [k, s] of Object.entries(b.properties ?? {})) {
      const mine = props[k];
      props[k] = mine === undefined ? s : mergeSameType(mine, s, `${path}.${k}`);
    }
    if (Object.keys(props).length > 0) out.properties = props;
    const required = (a.required ?? []).filter((k) => (b.required ?? []).includes(k));
    if (required.length > 0) out.required = required;
    if (a.additionalProperties !== undefined && b.additionalProperties !== undefined) {
      out.additionalProperties = mergeSameType(a.additionalProperties, b.additionalProperties, `${path}.*`);
    }
  }
  return out;
};

const structuralOf = (schema: z.ZodType): StructuralSchema =>
  toStructural(
    z.toJSONSchema(schema, { io: 'input', reused: 'inline', cycles: 'throw', target: 'openapi-3.0' }),
  );

// ---- CEL: the rules of rules.ts, as the API server evaluates them ----
// The API server refuses a CRD whose estimated CEL cost is too high. Triggers are at most 100,
// type <= 63 and name <= 253 chars, so the one quadratic rule (unique names) fits. What does not:
// messageExpressions that print an int (string(int) has no size bound) or a filtered name, and
// "scalingModifiers.target is a number" (a regex over a string without maxLength): those messages
// are static and that check stays in rules.ts only.

const cel = (rule: string, fieldPath: string, text: { message: string; messageExpression?: string }) => ({
  rule,
  ...text,
  fieldPath,
  reason: 'FieldValueInvalid' as const,
});
const RESOURCE = `[${[...RESOURCE_TRIGGER_TYPES].map((t) => `'${t}'`).join(', ')}]`;
const HAS_FORMULA =
  "(has(self.advanced) && has(self.advanced.scalingModifiers) && has(self.advanced.scalingModifiers.formula) && self.advanced.scalingModifiers.formula != '')";
const ONLY_RESOURCE = `(size(self.triggers) > 0 && self.triggers.all(t, t.type in ${RESOURCE}))`;
const MAX = `(has(self.maxReplicaCount) ? self.maxReplicaCount : ${DEFAULT_MAX_REPLICAS})`;
// KEDA's webhook reads an explicit min 0 as 1 here and an omitted min as 0 (minReplicasForIdleCheck).
const IDLE_MIN = '(has(self.minReplicaCount) ? (self.minReplicaCount > 1 ? self.minReplicaCount : 1) : 0)';
const NAMED = "has(t.name) && t.name != ''";
const NAME_USED_ONCE = 'self.triggers.exists_one(u, has(u.name) && u.name == t.name)';

export const SPEC_RULES: readonly ValidationRule[] = [
  cel(`!has(self.minReplicaCount) || self.minReplicaCount <= ${MAX}`, '.minReplicaCount', {
    message: `minReplicaCount must be <= maxReplicaCount (${DEFAULT_MAX_REPLICAS} when unset)`,
  }),
  cel(`!has(self.idleReplicaCount) || self.idleReplicaCount < ${IDLE_MIN}`, '.idleReplicaCount', {
    message:
      'idleReplicaCount must be < minReplicaCount (an explicit minReplicaCount 0 counts as 1, an omitted one as 0)',
  }),
  cel(`self.triggers.all(t, !(${NAMED}) || ${NAME_USED_ONCE})`, '.triggers', {
    message: 'trigger names must be unique within the ScaledObject',
  }),
  cel(`!${ONLY_RESOURCE} || (has(self.minReplicaCount) && self.minReplicaCount >= 1)`, '.minReplicaCount', {
    message: 'must be >= 1 when every trigger is cpu or memory (resource metrics cannot scale to zero)',
  }),
  cel(
    `!has(self.fallback) || !has(self.fallback.behavior) || self.fallback.behavior != 'scalingModifiers' || ${HAS_FORMULA}`,
    '.fallback.behavior',
    { message: 'scalingModifiers needs spec.advanced.scalingModifiers.formula' },
  ),
  cel(`!has(self.fallback) || ${HAS_FORMULA} || !${ONLY_RESOURCE}`, '.fallback', {
    message: 'needs at least one trigger that is not cpu or memory',
  }),
];

export const TRIGGER_RULES: readonly ValidationRule[] = [
  cel(
    `!has(self.useCachedMetrics) || !self.useCachedMetrics || !(self.type in ['cpu', 'memory', 'cron'])`,
    '.useCachedMetrics',
    {
      message: 'is not supported for cpu, memory and cron triggers',
      messageExpression: `'is not supported for trigger type "' + self.type + '"'`,
    },
  ),
  cel(
    `!has(self.metricType) || self.metricType != 'Utilization' || self.type in ${RESOURCE}`,
    '.metricType',
    {
      message: 'Utilization is only supported for cpu and memory triggers',
      messageExpression: `'Utilization is only supported for cpu and memory triggers, not "' + self.type + '"'`,
    },
  ),
];

const set = (field: string) => `(has(self.${field}) && self.${field} != '')`;
export const SCALING_MODIFIERS_RULES: readonly ValidationRule[] = [
  cel(
    `${set('formula')} || !(${set('target')} || ${set('activationTarget')} || has(self.metricType))`,
    '.formula',
    {
      message: 'is required when scalingModifiers is set',
    },
  ),
  cel(`!${set('formula')} || ${set('target')}`, '.target', { message: 'is required when a formula is set' }),
];

// ---- the CRD ----

const withRules = (s: StructuralSchema | undefined, rules: readonly ValidationRule[], path: string) => {
  if (s === undefined) throw at(path, 'missing from the spec schema');
  s['x-kubernetes-validations'] = [...rules];
};

export const specSchema = (): StructuralSchema => {
  const spec = structuralOf(ScaledObjectSpecSchema);
  spec.description = "KEDA's ScaledObject spec: what to scale, between which bounds, on which triggers.";
  withRules(spec, SPEC_RULES, 'spec');
  withRules(spec.properties?.triggers?.items, TRIGGER_RULES, 'spec.triggers[]');
  const modifiers = spec.properties?.advanced?.properties?.scalingModifiers;
  withRules(modifiers, SCALING_MODIFIERS_RULES, 'spec.advanced.scalingModifiers');
  return spec;
};

export const statusSchema = (): StructuralSchema => {
  const status = structuralOf(ScaledObjectStatusSchema);
  status.description = 'Written by the ebb controller.';
  const conditions = status.properties?.conditions;
  if (conditions === undefined) throw at('status', 'conditions missing from the status schema');
  // One condition per type, merged by type under server-side apply.
  conditions['x-kubernetes-list-type'] = 'map';
  conditions['x-kubernetes-list-map-keys'] = ['type'];
  return status;
};

const condition = (type: string) => `.status.conditions[?(@.type=="${type}")].status`;
const column = (name: string, type: string, jsonPath: string, priority?: number) => ({
  name,
  type,
  jsonPath,
  ...(priority !== undefined ? { priority } : {}),
});
type Column = ReturnType<typeof column>;

interface CrdShape {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  readonly description: string;
  readonly columns: readonly Column[];
  readonly spec: StructuralSchema;
  readonly status: StructuralSchema;
}

const customResourceDefinition = (shape: CrdShape) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${shape.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'ebb' } },
  spec: {
    group: GROUP,
    names: {
      kind: shape.kind,
      listKind: `${shape.kind}List`,
      plural: shape.plural,
      singular: shape.singular,
      shortNames: [...shape.shortNames],
      categories: [...shape.categories],
    },
    scope: shape.scope,
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [...shape.columns],
        schema: {
          openAPIV3Schema: {
            description: shape.description,
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: shape.spec,
              status: shape.status,
            },
            required: ['spec'],
          } satisfies StructuralSchema,
        },
      },
    ],
  },
});

export const CRD_NAME = `${PLURAL}.${GROUP}`;

export const scaledObjectCrd = () =>
  customResourceDefinition({
    kind: KIND,
    plural: PLURAL,
    singular: 'scaledobject',
    // KEDA owns `so`; both can be installed side by side.
    shortNames: ['ebbso'],
    categories: ['ebb', 'autoscaling'],
    scope: 'Namespaced',
    description: 'ScaledObject scales a workload on events; a KEDA ScaledObject with its apiVersion changed.',
    columns: [
      // KEDA's columns (ScaleTargetKind from status: the resolved kind, also when spec leaves
      // it empty), with the replicas ebb last saw and decided, and the triggers that are active.
      column('Kind', 'string', '.status.scaleTargetKind'),
      column('Target', 'string', '.spec.scaleTargetRef.name'),
      column('Min', 'integer', '.spec.minReplicaCount'),
      column('Max', 'integer', '.spec.maxReplicaCount'),
      column('Replicas', 'integer', '.status.currentReplicas'),
      column('Desired', 'integer', '.status.desiredReplicas'),
      column('Ready', 'string', condition('Ready')),
      column('Active', 'string', condition('Active')),
      column('ActiveTriggers', 'string', '.status.activeTriggers'),
      column('Fallback', 'string', condition('Fallback')),
      column('Paused', 'string', condition('Paused')),
      column('Triggers', 'string', '.spec.triggers[*].type'),
      column('Authentications', 'string', '.spec.triggers[*].authenticationRef.name', 1),
      column('Age', 'date', '.metadata.creationTimestamp'),
    ],
    spec: specSchema(),
    status: statusSchema(),
  });

// ---- TriggerAuthentication, ClusterTriggerAuthentication ----

export const TRIGGER_AUTHENTICATION_CRD_NAME = `${TRIGGER_AUTHENTICATION_PLURAL}.${GROUP}`;
export const CLUSTER_TRIGGER_AUTHENTICATION_CRD_NAME = `${CLUSTER_TRIGGER_AUTHENTICATION_PLURAL}.${GROUP}`;

export const triggerAuthenticationSpecSchema = (clusterScoped: boolean): StructuralSchema => {
  const spec = structuralOf(TriggerAuthenticationSpecSchema);
  spec.description = clusterScoped
    ? "KEDA's TriggerAuthentication spec. ebb resolves secretTargetRef, reading the Secrets from the " +
      `controller's cluster object namespace (default ${DEFAULT_CLUSTER_OBJECT_NAMESPACE}; KEDA: KEDA_CLUSTER_OBJECT_NAMESPACE); ` +
      'every other source is refused by name.'
    : "KEDA's TriggerAuthentication spec. ebb resolves secretTargetRef (Secrets in this namespace); " +
      'every other source is refused by name.';
  return spec;
};

// KEDA's columns, less its status ones (ebb does not write .status.scaledobjects).
const authColumns = (clusterScoped: boolean): Column[] => [
  column('PodIdentity', 'string', '.spec.podIdentity.provider'),
  column('Secret', 'string', '.spec.secretTargetRef[*].name'),
  column('Env', 'string', '.spec.env[*].name'),
  ...(clusterScoped ? [column('FilePath', 'string', '.spec.filePath')] : []),
  column('VaultAddress', 'string', '.spec.hashiCorpVault.address'),
  column('Age', 'date', '.metadata.creationTimestamp'),
];

export const triggerAuthenticationCrd = () =>
  customResourceDefinition({
    kind: TRIGGER_AUTHENTICATION,
    plural: TRIGGER_AUTHENTICATION_PLURAL,
    singular: 'triggerauthentication',
    // KEDA owns `ta` and `triggerauth`.
    shortNames: ['ebbta'],
    categories: ['ebb'],
    scope: 'Namespaced',
    description:
      'TriggerAuthentication gives triggers in its namespace their credentials; a KEDA TriggerAuthentication with its apiVersion changed.',
    columns: authColumns(false),
    spec: triggerAuthenticationSpecSchema(false),
    status: structuralOf(TriggerAuthenticationStatusSchema),
  });

export const clusterTriggerAuthenticationCrd = () =>
  customResourceDefinition({
    kind: CLUSTER_TRIGGER_AUTHENTICATION,
    plural: CLUSTER_TRIGGER_AUTHENTICATION_PLURAL,
    singular: 'clustertriggerauthentication',
    // KEDA owns `cta` and `clustertriggerauth`.
    shortNames: ['ebbcta'],
    categories: ['ebb'],
    scope: 'Cluster',
    description:
      'ClusterTriggerAuthentication gives triggers in every namespace their credentials; a KEDA ClusterTriggerAuthentication with its apiVersion changed.',
    columns: authColumns(true),
    spec: triggerAuthenticationSpecSchema(true),
    status: structuralOf(TriggerAuthenticationStatusSchema),
  });

/** Every CRD ebb installs, in the order they are rendered. */
export const allCrds = () => [
  scaledObjectCrd(),
  triggerAuthenticationCrd(),
  clusterTriggerAuthenticationCrd(),
];

/** The one file `crds/` holds: every CRD of the group, as a multi-document YAML stream. */
export const CRD_FILE = `${GROUP}.yaml`;

/** Every CRD ebb installs, as one YAML stream (what `crds/` holds). */
export const renderCrds = (): string =>
  '# generated by `npm run crds`, do not edit ' +
  '(source: src/api/scaledobject.ts, src/api/triggerauthentication.ts, src/api/crd.ts)\n' +
  allCrds()
    .map((crd) => stringify(crd, { lineWidth: 0 }))
    .join('---\n');
