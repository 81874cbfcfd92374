// Pause annotations. ebb's own names, with KEDA's accepted as aliases so a migrated
// ScaledObject keeps its meaning. paused-replicas wins over paused (KEDA's rule).
import { fail, InvalidSpec, ok, type Problem, type Result } from './reasons.ts';

export const ANNOTATION_PREFIXES = ['autoscaling.ebb.dev/', 'autoscaling.keda.sh/'] as const;
export const PAUSED = 'paused';
export const PAUSED_REPLICAS = 'paused-replicas';
export const PAUSED_SCALE_IN = 'paused-scale-in';
export const PAUSED_SCALE_OUT = 'paused-scale-out';

/** ebb's own (KEDA has no such switch): `direct` (default) or `hpa` (docs/hpa-mode.md). */
export const SCALING_MODE = 'autoscaling.ebb.dev/scaling-mode';
export const SCALING_MODES = ['direct', 'hpa'] as const;
export type ScalingMode = (typeof SCALING_MODES)[number];

export type Pause =
  | { readonly kind: 'none' }
  /** Stop the loop and keep the current replica count. */
  | { readonly kind: 'paused' }
  /** Stop the loop and hold the target at `replicas`. */
  | { readonly kind: 'pausedReplicas'; readonly replicas: number };

export interface PauseSettings {
  readonly pause: Pause;
  /** Keep polling but never scale in (including 1 -> 0). */
  readonly scaleInPaused: boolean;
  /** Keep polling but never scale out (including 0 -> 1). */
  readonly scaleOutPaused: boolean;
}

const lookup = (
  annotations: Readonly<Record<string, string>>,
  name: string,
): [string, string] | undefined => {
  for (const prefix of ANNOTATION_PREFIXES) {
    const key = prefix + name;
    const value = annotations[key];
    if (value !== undefined) return [key, value];
  }
  return undefined;
};

const annotationPath = (key: string) => `metadata.annotations[${JSON.stringify(key)}]`;

const parseBool = (entry: [string, string] | undefined, problems: Problem[]): boolean => {
  if (entry === undefined) return false;
  const [key, raw] = entry;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false' || v === '') return false;
  problems.push({
    path: annotationPath(key),
    reason: InvalidSpec,
    message: `must be "true" or "false", got "${raw}"`,
  });
  return false;
};

export const pauseSettingsFrom = (
  annotations: Readonly<Record<string, string>> | undefined,
): Result<PauseSettings> => {
  const a = annotations ?? {};
  const problems: Problem[] = [];
  let pause: Pause = { kind: 'none' };
  const replicas = lookup(a, PAUSED_REPLICAS);
  if (replicas !== undefined) {
    const [key, raw] = replicas;
    if (/^\d+$/.test(raw.trim()) && Number(raw) <= 2_147_483_647) {
      pause = { kind: 'pausedReplicas', replicas: Number(raw) };
    } else {
      problems.push({
        path: annotationPath(key),
        reason: InvalidSpec,
        message: `must be a non-negative integer, got "${raw}"`,
      });
    }
  }
  if (pause.kind === 'none' && parseBool(lookup(a, PAUSED), problems)) pause = { kind: 'paused' };
  const scaleInPaused = parseBool(lookup(a, PAUSED_SCALE_IN), problems);
  const scaleOutPaused = parseBool(lookup(a, PAUSED_SCALE_OUT), problems);
  return problems.length > 0 ? fail(problems) : ok({ pause, scaleInPaused, scaleOutPaused });
};

/**
 * The scaling-mode annotation: `direct` (ebb writes every replica count, the default) or `hpa`
 * (ebb owns an autoscaling/v2 HPA for 1 <-> N and writes only 0 <-> 1).
 */
export const scalingModeFrom = (
  annotations: Readonly<Record<string, string>> | undefined,
): Result<ScalingMode> => {
  const raw = annotations?.[SCALING_MODE];
  if (raw === undefined) return ok('direct');
  const mode = SCALING_MODES.find((m) => m === raw.trim().toLowerCase());
  if (mode !== undefined) return ok(mode);
  return fail([
    {
      path: annotationPath(SCALING_MODE),
      reason: InvalidSpec,
      message: `must be "direct" or "hpa", got "${raw}"`,
    },
  ]);
};

/**
 * The scaling mode of an object, with `scalingModifiers` set or not: HPA mode does not take
 * scalingModifiers yet (the HPA would need the composite metric from the adapter).
 */
export const scalingModeWith = (
  annotations: Readonly<Record<string, string>> | undefined,
  hasScalingModifiers: boolean,
): Result<ScalingMode> => {
  const mode = scalingModeFrom(annotations);
  if (!mode.ok || mode.value === 'direct' || !hasScalingModifiers) return mode;
  return fail([
    {
      path: 'spec.advanced.scalingModifiers',
      reason: InvalidSpec,
      message: `not supported with ${SCALING_MODE}: hpa yet; use direct mode (remove the annotation)`,
    },
  ]);
};
