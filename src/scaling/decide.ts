// One poll of one ScaledObject: readings in, decision out. The controller, `ebb simulate` and the
// local mode all call decide(); every decision has exactly one implementation, composed here:
//   pause -> concurrency windows (http triggers in concurrency mode) -> triggers (health,
//   fallback, formula) -> executor (activation, cooldown, idle/min; a concurrency cold start
//   wakes what is held) -> HPA computation (metrics, stabilization, rate policies, min/max)
//   -> pause guards -> [0, max].
import { ScalerNotActive, TriggerError } from '../api/reasons.ts';
import {
  applyScalePauses,
  clampReplicas,
  type ExecutorAction,
  executorStep,
  NOT_ACTIVE_MESSAGE,
} from './activation.ts';
import { type BehaviorHistory, storeScaleEvent } from './behavior.ts';
import { coldStart, concurrencyWindows } from './concurrency-triggers.ts';
import { explainHpa, type HpaSpec, reconcileHpa } from './hpa.ts';
import { formatNumber } from './replicas.ts';
import { type Assessment, assessTriggers, COMPOSITE_METRIC } from './triggers.ts';
import type {
  ClampedValue,
  DecideInput,
  ScaleDecision,
  ScalingRules,
  ScalingSpec,
  ScalingState,
  TriggerReading,
} from './types.ts';

/** The state of a ScaledObject that has not been polled yet. */
export const initialScalingState = (createdAt: number): ScalingState => ({
  lastActiveTime: undefined,
  createdAt,
  health: {},
  recommendations: [],
  scaleUpEvents: [],
  scaleDownEvents: [],
  concurrency: {},
});

const disabled = (rules: ScalingRules): ScalingRules => ({ ...rules, selectPolicy: 'Disabled' });

/**
 * The HPA KEDA would create (controllers/keda/hpa.go): minReplicas = max(minReplicaCount, 1), and the
 * direction a pause annotation blocks gets selectPolicy Disabled.
 */
export const hpaSpecOf = (spec: ScalingSpec): HpaSpec => ({
  minReplicas: Math.max(spec.minReplicas, 1),
  maxReplicas: spec.maxReplicas,
  scaleUp: spec.pause.scaleOutPaused ? disabled(spec.scaleUp) : spec.scaleUp,
  scaleDown: spec.pause.scaleInPaused ? disabled(spec.scaleDown) : spec.scaleDown,
});

const pausedDecision = (
  state: ScalingState,
  current: number,
  desired: number,
  explanation: string,
): ScaleDecision => ({
  desiredReplicas: desired,
  active: false,
  activeReason: ScalerNotActive,
  activeMessage: NOT_ACTIVE_MESSAGE,
  activeTriggers: [],
  triggerError: undefined,
  fallbackActive: false,
  transition: undefined,
  explanation: desired === current ? explanation : `${explanation}: ${current} → ${desired}`,
  compositeValue: undefined,
  clamped: [],
  state,
});

const explainAction = (
  action: ExecutorAction,
  assessment: Assessment,
  spec: ScalingSpec,
  current: number,
  cooldownSeconds: number | undefined,
): string | undefined => {
  switch (action.kind) {
    case 'activate':
      return `activated by ${assessment.activeTriggers.join(', ')}: ${current} → ${action.replicas} (${action.why ?? 'max(minReplicaCount, 1)'})`;
    case 'deactivate': {
      const what = spec.idleReplicas !== undefined ? 'idleReplicaCount' : 'minReplicaCount';
      return `no trigger active for ${cooldownSeconds ?? spec.cooldownSeconds} s: ${current} → ${action.replicas} (${what})`;
    }
    case 'restoreMin':
      return `inactive below minReplicaCount: ${current} → ${action.replicas}`;
    case 'hold':
      return `${action.why}; keeping ${current}`;
    case 'hpa':
      return undefined;
  }
};

interface Applied {
  readonly desired: number;
  readonly history: BehaviorHistory;
  readonly detail: string | undefined;
}

/** The executor's action, or the HPA computation when the executor hands over. */
const applyAction = (
  spec: ScalingSpec,
  action: ExecutorAction,
  assessment: Assessment,
  state: ScalingState,
  input: DecideInput,
  cooldownSeconds: number | undefined,
): Applied => {
  const current = input.currentReplicas;
  if (action.kind === 'hpa') {
    const hpaSpec = hpaSpecOf(spec);
    const hpa = reconcileHpa(hpaSpec, current, assessment.proposals, state, input.now);
    return {
      desired: hpa.outcome.desiredReplicas,
      history: hpa.history,
      detail: explainHpa(hpa.outcome, current, hpaSpec),
    };
  }
  return {
    desired: action.kind === 'hold' ? current : action.replicas,
    history: state,
    detail: explainAction(action, assessment, spec, current, cooldownSeconds),
  };
};

/** Every negative value counted as 0 in this poll: the readings', then the composite's. */
const clampedValues = (readings: readonly TriggerReading[], assessment: Assessment): ClampedValue[] => {
  const clamped: ClampedValue[] = [];
  for (const r of readings)
    if (r.ok && r.clampedFrom !== undefined) clamped.push({ metric: r.metricName, value: r.clampedFrom });
  if (assessment.compositeClampedFrom !== undefined)
    clamped.push({ metric: COMPOSITE_METRIC, value: assessment.compositeClampedFrom });
  return clamped;
};

export const decide = (spec: ScalingSpec, input: DecideInput, state: ScalingState): ScaleDecision => {
  const { now, currentReplicas: current, readings } = input;
  const pause = spec.pause.pause;
  if (pause.kind === 'pausedReplicas') {
    const desired = clampReplicas(pause.replicas, spec.maxReplicas);
    return pausedDecision(state, current, desired, `paused at ${desired} replicas (paused-replicas)`);
  }
  if (pause.kind === 'paused')
    return pausedDecision(state, current, current, `paused: keeping ${current} replicas`);

  const windows = concurrencyWindows(spec, readings, current, now, state.concurrency);
  const assessment = assessTriggers(spec, readings, current, state.health, windows.counts);
  const hasError = assessment.errors.length > 0;
  const executor = executorStep(
    spec,
    { currentReplicas: current, active: assessment.active, hasError, now },
    state,
  );
  const cold =
    executor.action.kind === 'activate'
      ? coldStart(spec, readings, assessment.activeTriggers, current, now, windows.states)
      : undefined;
  const step =
    cold === undefined
      ? executor
      : { ...executor, action: { kind: 'activate' as const, replicas: cold.replicas, why: cold.why } };
  const applied = applyAction(spec, step.action, assessment, state, input, step.cooldown?.seconds);
  const unpaused = clampReplicas(applied.desired, spec.maxReplicas);
  const desired = clampReplicas(applyScalePauses(spec.pause, current, applied.desired), spec.maxReplicas);
  // The HPA records the change it makes (storeScaleEvent); activation and deactivation are KEDA's.
  const history =
    step.action.kind === 'hpa' && desired !== current
      ? { ...applied.history, ...storeScaleEvent(hpaSpecOf(spec), applied.history, current, desired, now) }
      : applied.history;

  const clamped = clampedValues(readings, assessment);
  const parts: string[] = [];
  if (hasError) parts.push(assessment.errors.map((e) => `${e.trigger} failed (${e.reason})`).join(', '));
  if (clamped.length > 0)
    parts.push(clamped.map((c) => `${c.metric} was ${formatNumber(c.value)}, clamped to 0`).join(', '));
  if (assessment.fallbackTriggers.length > 0)
    parts.push(`fallback for ${assessment.fallbackTriggers.join(', ')}`);
  if (step.cooldown !== undefined && !step.cooldown.elapsed) {
    const target = spec.idleReplicas ?? spec.minReplicas;
    parts.push(
      `cooldown: ${Math.ceil(step.cooldown.remainingMs / 1000)} s left before ${current} → ${target}`,
    );
  }
  if (applied.detail !== undefined) parts.push(applied.detail);
  if (desired !== unpaused)
    parts.push(`${desired < unpaused ? 'paused-scale-out' : 'paused-scale-in'} keeps ${desired}`);
  if (assessment.compositeValue !== undefined && step.action.kind !== 'hpa') {
    parts.push(`composite metric ${formatNumber(assessment.compositeValue)}`);
  }

  return {
    desiredReplicas: desired,
    active: assessment.active,
    activeReason: step.activeReason,
    activeMessage: step.activeMessage,
    activeTriggers: assessment.activeTriggers,
    triggerError: hasError
      ? {
          reason: TriggerError,
          message: assessment.errors.map((e) => `${e.trigger}: ${e.reason}: ${e.message}`).join('; '),
        }
      : undefined,
    fallbackActive: assessment.fallbackTriggers.length > 0,
    transition:
      step.action.kind === 'activate' && desired > current
        ? 'activated'
        : step.action.kind === 'deactivate' && desired < current
          ? 'deactivated'
          : undefined,
    explanation: parts.join('; '),
    compositeValue: assessment.compositeValue,
    clamped,
    state: {
      lastActiveTime: step.lastActiveTime,
      createdAt: state.createdAt,
      health: assessment.health,
      recommendations: history.recommendations,
      scaleUpEvents: history.scaleUpEvents,
      scaleDownEvents: history.scaleDownEvents,
      concurrency: cold?.states ?? windows.states,
    },
  };
};
