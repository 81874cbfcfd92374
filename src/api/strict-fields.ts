// Unknown fields, as kubectl's strict field validation (`--validate=strict`, the default since
// kubectl 1.27; the API server's fieldValidation=Strict) reports them: `unknown field
// "spec.pollingIntervall"`. Read from the very schema the CRD gives the API server (crd.ts), so
// the two cannot disagree: a node that preserves unknown fields (trigger metadata, a
// TriggerAuthentication's spec) accepts any key, as the API server does. ObjectMeta is the API
// server's own type; its fields are listed here.
import { allCrds, type StructuralSchema } from './crd.ts';
import { fieldPath, isMap } from './parse.ts';
import { UnknownField, type ValidateProblem } from './reasons.ts';

/** metav1.ObjectMeta's JSON fields (k8s.io/apimachinery/pkg/apis/meta/v1/types.go). */
const OBJECT_META_FIELDS: ReadonlySet<string> = new Set([
  ...['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation'],
  ...['creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations'],
  ...['ownerReferences', 'finalizers', 'managedFields'],
]);

type Problems = ValidateProblem[];

/** Each kind's openAPIV3Schema, as rendered into the CRDs (built once, when this module loads). */
const SCHEMAS: ReadonlyMap<string, StructuralSchema> = new Map(
  allCrds().map((crd) => [crd.spec.names.kind, crd.spec.versions[0]?.schema.openAPIV3Schema ?? {}]),
);

const schemaOf = (kind: string): StructuralSchema | undefined => SCHEMAS.get(kind);

const unknownField = (path: readonly PropertyKey[]): ValidateProblem => {
  const at = fieldPath(path);
  return { path: at, reason: UnknownField, message: `unknown field "${at}"` };
};

// Depth-first over the value, following the schema; a value of the wrong type is the schema
// check's to report, so it is not descended into here.
const walk = (value: unknown, schema: StructuralSchema, path: PropertyKey[], out: Problems): void => {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (Array.isArray(value)) {
    if (schema.type !== 'array' || schema.items === undefined) return;
    for (const [i, item] of value.entries()) walk(item, schema.items, [...path, i], out);
    return;
  }
  if (!isMap(value) || schema.type !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    const known = schema.properties?.[key] ?? schema.additionalProperties;
    if (known === undefined) out.push(unknownField([...path, key]));
    else walk(child, known, [...path, key], out);
  }
};

/**
 * Every field of `raw` (an object of an ebb kind) that its CRD does not declare, in document
 * order; [] for a kind ebb has no CRD for.
 */
export const unknownFields = (kind: string, raw: unknown): Problems => {
  const schema = schemaOf(kind);
  if (schema === undefined || !isMap(raw)) return [];
  const out: Problems = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'metadata') {
      if (!isMap(value)) continue;
      for (const field of Object.keys(value))
        if (!OBJECT_META_FIELDS.has(field)) out.push(unknownField(['metadata', field]));
      continue;
    }
    const known = schema.properties?.[key];
    if (known === undefined) out.push(unknownField([key]));
    else walk(value, known, [key], out);
  }
  return out;
};
