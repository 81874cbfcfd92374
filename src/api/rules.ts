// Cross-field rules on a ScaledObject spec: what KEDA's CRD CEL rules and admission webhook
// reject. The same rules are written as CEL in the CRD (`crd.ts`) so that the API server
// refuses them first; this TypeScript copy serves `ebb validate` and the controller, and a
// test applies the ScaledObject fixtures (test/fixtures/scaledobjects/) to a real API server to keep
// the two in agreement.
import { InvalidSpec, type Problem } from './reasons.ts';
import type { ScaledObjectSpec, Trigger } from './scaledobject.ts';

export const DEFAULT_MAX_REPLICAS = 100;

/** Trigger types whose metric is a resource metric (served by metrics-server, not ebb). */
export const RESOURCE_TRIGGER_TYPES: ReadonlySet<string> = new Set(['cpu', 'memory']);
/** Trigger types that cannot use cached metrics (KEDA: resource metrics and cron). */
const NO_CACHED_METRICS: ReadonlySet<string> = new Set(['cpu', 'memory', 'cron']);

const isResource = (t: Trigger): boolean => RESOURCE_TRIGGER_TYPES.has(t.type);

/**
 * KEDA's webhook reads an explicit `minReplicaCount: 0` as 1 for the idle check (the HPA's
 * minimum), and an omitted one as 0. ebb keeps that quirk so KEDA manifests behave the same.
 */
export const minReplicasForIdleCheck = (spec: ScaledObjectSpec): number =>
  spec.minReplicaCount === undefined ? 0 : Math.max(spec.minReplicaCount, 1);

export const crossFieldProblems = (spec: ScaledObjectSpec): Problem[] => {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, reason: InvalidSpec, message });

  const max = spec.maxReplicaCount ?? DEFAULT_MAX_REPLICAS;
  if (spec.minReplicaCount !== undefined && spec.minReplicaCount > max) {
    add(
      'spec.minReplicaCount',
      `minReplicaCount (${spec.minReplicaCount}) must be <= maxReplicaCount (${max})`,
    );
  }
  if (spec.idleReplicaCount !== undefined) {
    const min = minReplicasForIdleCheck(spec);
    if (spec.idleReplicaCount >= min) {
      add(
        'spec.idleReplicaCount',
        `idleReplicaCount (${spec.idleReplicaCount}) must be < minReplicaCount (${spec.minReplicaCount ?? 0})`,
      );
    }
  }

  const seen = new Map<string, number>();
  spec.triggers.forEach((t, i) => {
    const at = `spec.triggers[${i}]`;
    if (t.name !== undefined && t.name !== '') {
      const first = seen.get(t.name);
      if (first !== undefined) {
        add(`${at}.name`, `trigger name "${t.name}" is already used by spec.triggers[${first}]`);
      } else seen.set(t.name, i);
    }
    if (t.useCachedMetrics === true && NO_CACHED_METRICS.has(t.type)) {
      add(`${at}.useCachedMetrics`, `is not supported for trigger type "${t.type}"`);
    }
    if (t.metricType === 'Utilization' && !isResource(t)) {
      add(`${at}.metricType`, `Utilization is only supported for cpu and memory triggers, not "${t.type}"`);
    }
  });

  const onlyResource = spec.triggers.length > 0 && spec.triggers.every(isResource);
  if (onlyResource && (spec.minReplicaCount ?? 0) === 0) {
    add(
      'spec.minReplicaCount',
      'must be >= 1 when every trigger is cpu or memory (resource metrics cannot scale to zero)',
    );
  }

  const modifiers = spec.advanced?.scalingModifiers;
  const hasModifiers =
    modifiers !== undefined && Object.values(modifiers).some((v) => v !== undefined && v !== '');
  const hasFormula = modifiers?.formula !== undefined && modifiers.formula !== '';
  if (hasModifiers && !hasFormula) {
    add('spec.advanced.scalingModifiers.formula', 'is required when scalingModifiers is set');
  }
  if (hasFormula && (modifiers?.target === undefined || modifiers.target === '')) {
    add('spec.advanced.scalingModifiers.target', 'is required when a formula is set');
  }
  // With a formula, src/scaling/spec.ts parses both (and says so once); without one, nothing
  // else reads them, so they are checked here.
  for (const key of hasFormula ? [] : (['target', 'activationTarget'] as const)) {
    const v = modifiers?.[key];
    if (v !== undefined && v !== '' && !Number.isFinite(Number(v))) {
      add(`spec.advanced.scalingModifiers.${key}`, `must be a number written as a string, got "${v}"`);
    }
  }

  if (spec.fallback !== undefined) {
    if (spec.fallback.behavior === 'scalingModifiers' && !hasFormula) {
      add('spec.fallback.behavior', 'scalingModifiers needs spec.advanced.scalingModifiers.formula');
    }
    if (onlyResource && !hasFormula) {
      add('spec.fallback', 'needs at least one trigger that is not cpu or memory');
    }
  }
  return problems;
};
