// Admission: every problem of one ScaledObject, found offline with the same code the controller
// runs (layers 1-3 in docs/architecture.md): structure (zod), apiVersion, pause annotations,
// cross-field rules (src/api/rules.ts), the scaling spec (src/scaling/spec.ts: behavior
// tolerances, scalingModifiers target and the formula compiled with its cost limits), and each
// trigger's type and metadata (scalers/index.ts). `ebb validate`, `ebb simulate`, `ebb local` and
// the controller all admit through here, so they agree. When the structure is broken somewhere,
// the parts that parsed are still checked, so one mistake does not hide the others.
import { z } from 'zod';
import { type ResolvedTrigger, resolveTrigger } from '../../scalers/index.ts';
import { type PauseSettings, pauseSettingsFrom, scalingModeWith } from '../api/annotations.ts';
import { apiVersionProblems, isMap, problemsFromZod } from '../api/parse.ts';
import { fail, InvalidSpec, ok, type Problem, type Result } from '../api/reasons.ts';
import { crossFieldProblems } from '../api/rules.ts';
import {
  type ScaledObject,
  ScaledObjectSchema,
  type ScaledObjectSpec,
  ScaledObjectSpecSchema,
  type Trigger,
  TriggerSchema,
} from '../api/scaledobject.ts';
import { FORMULA_PATH } from '../scaling/formula.ts';
import { scalingSpecFrom } from '../scaling/spec.ts';
import type { ScalingSpec } from '../scaling/types.ts';

export { ACCEPTED_API_VERSIONS } from '../api/parse.ts';

/** The path of a problem with the document itself (not a mapping). */
export const ROOT_PATH = '<root>';

export type Admission =
  | {
      readonly ok: true;
      readonly object: ScaledObject;
      readonly pause: PauseSettings;
      /** The scaling core's spec: KEDA's and the HPA's defaults applied, the formula compiled. */
      readonly spec: ScalingSpec;
      /** Every trigger with its parsed metadata and metric, in spec order. */
      readonly triggers: readonly ResolvedTrigger[];
      readonly problems: readonly [];
    }
  | { readonly ok: false; readonly problems: readonly Problem[] };

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'a list' : `${typeof value} ${JSON.stringify(value)}`;

const AnnotationsSchema = z.record(z.string(), z.string()).optional();

/** The pause annotations; undefined when the annotations are not a string map (the structural parse says so). */
const pauseOf = (metadata: unknown): Result<PauseSettings> | undefined => {
  const annotations = AnnotationsSchema.safeParse(isMap(metadata) ? metadata.annotations : undefined);
  return annotations.success ? pauseSettingsFrom(annotations.data) : undefined;
};

/** The scaling-mode annotation's value, and HPA mode with scalingModifiers: found before a reconcile. */
const scalingModeProblems = (metadata: unknown, spec: unknown): Problem[] => {
  const annotations = AnnotationsSchema.safeParse(isMap(metadata) ? metadata.annotations : undefined);
  if (!annotations.success) return [];
  const advanced = isMap(spec) && isMap(spec.advanced) ? spec.advanced : undefined;
  const mode = scalingModeWith(annotations.data, advanced?.scalingModifiers !== undefined);
  return mode.ok ? [] : mode.error;
};

const UNPAUSED: Readonly<PauseSettings> = {
  pause: { kind: 'none' },
  scaleInPaused: false,
  scaleOutPaused: false,
};

/** A spec rebuilt from the fields that parsed, and which did not (`minReplicaCount`, `triggers[2]`). */
interface PartialSpec {
  readonly spec: ScaledObjectSpec;
  readonly failed: ReadonlySet<string>;
  /** The triggers that parsed, with their index in the raw list. */
  readonly triggers: ReadonlyArray<readonly [number, Trigger]>;
}

// A trigger that did not parse keeps its index (so paths stay right) but can match no rule:
// no name, no cached metrics, a type no rule looks for.
const UNPARSED_TRIGGER: Readonly<Trigger> = { type: '', metadata: {} };

const partialSpec = (raw: unknown): PartialSpec | undefined => {
  if (!isMap(raw)) return undefined;
  const failed = new Set<string>();
  const fields: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(ScaledObjectSpecSchema.shape)) {
    if (key === 'triggers') continue;
    const parsed = schema.safeParse(raw[key]);
    if (parsed.success) fields[key] = parsed.data;
    else failed.add(key);
  }
  const triggers: Array<readonly [number, Trigger]> = [];
  const list = Array.isArray(raw.triggers) ? raw.triggers : [];
  const all = list.map((item, index) => {
    const parsed = TriggerSchema.safeParse(item);
    if (parsed.success) {
      triggers.push([index, parsed.data]);
      return parsed.data;
    }
    failed.add(`triggers[${index}]`);
    return UNPARSED_TRIGGER;
  });
  // `triggers` as a whole: not a list, empty, too long, or one of its items broken.
  if (!ScaledObjectSpecSchema.shape.triggers.safeParse(raw.triggers).success) failed.add('triggers');
  // Every field in `fields` parsed with its own schema; `scaleTargetRef` is read by no rule, so a
  // placeholder stands in when it failed.
  const spec = { scaleTargetRef: { name: '' }, ...fields, triggers: all } as ScaledObjectSpec;
  return { spec, failed, triggers };
};

/**
 * Which spec fields each rule of src/api/rules.ts reads, keyed by the path it reports. A rule's
 * problem on a partial spec is kept only when all of its inputs parsed, so a broken field never
 * causes a spurious problem elsewhere (an unparsed minReplicaCount would read as 0 otherwise).
 */
const ruleInputs = (path: string): readonly string[] | undefined => {
  const trigger = /^spec\.triggers\[(\d+)\]/.exec(path);
  if (trigger !== null) return [`triggers[${trigger[1]}]`];
  if (path === 'spec.minReplicaCount') return ['minReplicaCount', 'maxReplicaCount', 'triggers'];
  if (path === 'spec.idleReplicaCount') return ['idleReplicaCount', 'minReplicaCount'];
  if (path === FORMULA_PATH) return ['advanced', 'triggers']; // the formula reads trigger names
  if (path.startsWith('spec.advanced')) return ['advanced'];
  if (path.startsWith('spec.fallback')) return ['fallback', 'advanced', 'triggers'];
  return undefined;
};

const inputsParsed = (problem: Problem, failed: ReadonlySet<string>): boolean => {
  if (failed.size === 0) return true;
  const inputs = ruleInputs(problem.path);
  if (inputs === undefined) return false; // a rule this table does not know: only on a whole spec
  return inputs.every((input) => !failed.has(input));
};

/** Checks one raw ScaledObject (from YAML or the API server) and reports every problem found. */
export const admitScaledObject = (raw: unknown): Admission => {
  if (!isMap(raw)) {
    return {
      ok: false,
      problems: [
        { path: ROOT_PATH, reason: InvalidSpec, message: `must be a ScaledObject, got ${describe(raw)}` },
      ],
    };
  }
  // reportInput: zod 4 leaves `input` out of issues otherwise, and messages would read "got nothing".
  const parsed = ScaledObjectSchema.safeParse(raw, { reportInput: true });
  const whole = parsed.success ? ok(parsed.data) : fail(problemsFromZod(parsed.error));
  const partial: PartialSpec | undefined = whole.ok
    ? {
        spec: whole.value.spec,
        failed: new Set<string>(),
        triggers: whole.value.spec.triggers.map((t, i) => [i, t] as const),
      }
    : partialSpec(raw.spec);

  const resolved: ResolvedTrigger[] = [];
  const triggerProblems: Problem[] = [];
  for (const [index, trigger] of partial?.triggers ?? []) {
    const r = resolveTrigger(trigger, index);
    if (r.ok) resolved.push(r.value);
    else triggerProblems.push(...r.error);
  }

  const pause = pauseOf(raw.metadata);
  const spec =
    partial === undefined ? undefined : scalingSpecFrom(partial.spec, pause?.ok ? pause.value : UNPAUSED);
  const problems = dedupe([
    ...(whole.ok ? [] : whole.error),
    ...apiVersionProblems(raw.apiVersion),
    ...(pause === undefined || pause.ok ? [] : pause.error),
    ...scalingModeProblems(raw.metadata, raw.spec),
    ...(partial === undefined
      ? []
      : crossFieldProblems(partial.spec).filter((p) => inputsParsed(p, partial.failed))),
    ...(partial === undefined || spec === undefined || spec.ok
      ? []
      : spec.error.filter((p) => inputsParsed(p, partial.failed))),
    ...triggerProblems,
  ]);
  if (!whole.ok || problems.length > 0) return { ok: false, problems };
  // Unreachable with no problems: the annotations and the spec parsed and were checked above.
  if (pause === undefined || !pause.ok || spec === undefined || !spec.ok) return { ok: false, problems };
  return {
    ok: true,
    object: whole.value,
    pause: pause.value,
    spec: spec.value,
    triggers: resolved,
    problems: [],
  };
};

const dedupe = (problems: readonly Problem[]): Problem[] => {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.reason}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};
