// Status as a diff: each step of reconcile and poll says which conditions and fields it wants,
// `statusPatch` applies that to the status ebb last wrote (or read) and returns only what
// differs, or undefined. No difference, no write: an idle ScaledObject costs no API calls.
import { type ConditionUpdate, setCondition } from '../api/conditions.ts';
import { isMap, type RawMap } from '../api/parse.ts';
import type { Condition, ScaledObjectStatus } from '../api/scaledobject.ts';
import type { StatusPatch } from '../platform/ports.ts';

export interface StatusChange {
  readonly conditions?: readonly ConditionUpdate[];
  readonly fields?: StatusPatch;
}

/** `later` wins where both set a condition type or a field. */
export const mergeChanges = (earlier: StatusChange, later: StatusChange): StatusChange => {
  const laterTypes = new Set((later.conditions ?? []).map((c) => c.type));
  return {
    conditions: [
      ...(earlier.conditions ?? []).filter((c) => !laterTypes.has(c.type)),
      ...(later.conditions ?? []),
    ],
    fields: { ...earlier.fields, ...later.fields },
  };
};

/** Structural equality; object key order does not matter (the API server sorts map keys). */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
};

/** Only the conditions that differ from `known` (status, reason, message or generation). */
const conditionsAfter = (
  known: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  generation: number | undefined,
  now: Date,
): Condition[] | undefined => {
  let list: readonly Condition[] | undefined = known;
  let changed = false;
  for (const u of updates) {
    const current = list?.find((c) => c.type === u.type);
    if (
      current !== undefined &&
      current.status === u.status &&
      current.reason === u.reason &&
      current.message === u.message &&
      current.observedGeneration === generation
    ) {
      continue;
    }
    list = setCondition(list, u, generation, now);
    changed = true;
  }
  return changed ? [...(list ?? [])] : undefined;
};

/** The merge patch that brings `known` to what `change` asks for; undefined when nothing differs. */
export const statusPatch = (
  known: ScaledObjectStatus,
  change: StatusChange,
  generation: number | undefined,
  now: Date,
): StatusPatch | undefined => {
  const patch: Record<string, unknown> = {};
  const conditions = conditionsAfter(known.conditions, change.conditions ?? [], generation, now);
  if (conditions !== undefined) patch.conditions = conditions;
  const fields: Record<string, unknown> = change.fields ?? {};
  // for-in, not Object.entries: every poll passes here, and entries would allocate a pair per field.
  for (const field in fields) {
    const value = fields[field];
    if (field === 'conditions' || value === undefined) continue;
    const current = (known as Record<string, unknown>)[field];
    if (value === null ? current !== undefined : !sameValue(current, value)) {
      patch[field] = isMap(value) && isMap(current) ? withRemovals(current, value) : value;
    }
  }
  return Object.keys(patch).length === 0 ? undefined : (patch as StatusPatch);
};

/** A merge patch merges maps (`health`): keys that went away must be sent as null. */
const withRemovals = (current: RawMap, value: RawMap): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...value };
  for (const key of Object.keys(current)) if (!(key in value)) out[key] = null;
  return out;
};

/** `known` after a successful merge patch (RFC 7386, maps one level deep as status has them). */
export const applyPatch = (known: ScaledObjectStatus, patch: StatusPatch): ScaledObjectStatus => {
  const next: Record<string, unknown> = { ...known };
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete next[field];
    else if (isMap(value)) {
      const merged: Record<string, unknown> = isMap(next[field]) ? { ...next[field] } : {};
      for (const [k, v] of Object.entries(value)) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      next[field] = merged;
    } else next[field] = value;
  }
  return next as ScaledObjectStatus;
};
