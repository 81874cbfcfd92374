// `ebb simulate`: replay a ScaledObject's polls through the very decide() the controller uses.
// Replicas become ready at once: each poll's currentReplicas is the previous decision's desired.
import { decide, initialScalingState } from './decide.ts';
import type { ScaleDecision, ScalingSpec, TriggerReading } from './types.ts';

export interface SimulationPoll {
  /** Seconds from the start (the ScaledObject's creation). */
  readonly t: number;
  readonly readings: readonly TriggerReading[];
}

export interface SimulationInput {
  readonly initialReplicas: number;
  readonly polls: readonly SimulationPoll[];
  /** ms since the epoch of t = 0; also the ScaledObject's creation time. */
  readonly startMs: number;
}

export interface SimulationStep {
  readonly t: number;
  /** The replicas after this poll. */
  readonly replicas: number;
  readonly active: boolean;
  readonly decision: ScaleDecision;
}

/** now = startMs + t × 1000; state and replicas carry from one poll to the next. */
export const simulate = (spec: ScalingSpec, input: SimulationInput): SimulationStep[] => {
  let state = initialScalingState(input.startMs);
  let replicas = input.initialReplicas;
  return input.polls.map((poll) => {
    const decision = decide(
      spec,
      { now: input.startMs + poll.t * 1000, currentReplicas: replicas, readings: poll.readings },
      state,
    );
    state = decision.state;
    replicas = decision.desiredReplicas;
    return { t: poll.t, replicas, active: decision.active, decision };
  });
};
