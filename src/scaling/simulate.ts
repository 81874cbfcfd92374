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

/**
 * Polls one at a time (the CLI streams a million of them): now = startMs + t × 1000; state and
 * replicas carry from one poll to the next, and nothing else is kept.
 */
export const simulation = (
  spec: ScalingSpec,
  initialReplicas: number,
  startMs: number,
): ((poll: SimulationPoll) => SimulationStep) => {
  let state = initialScalingState(startMs);
  let replicas = initialReplicas;
  return (poll) => {
    const decision = decide(
      spec,
      { now: startMs + poll.t * 1000, currentReplicas: replicas, readings: poll.readings },
      state,
    );
    state = decision.state;
    replicas = decision.desiredReplicas;
    return { t: poll.t, replicas, active: decision.active, decision };
  };
};

/** Every poll of `input`, in order. */
export const simulate = (spec: ScalingSpec, input: SimulationInput): SimulationStep[] =>
  input.polls.map(simulation(spec, input.initialReplicas, input.startMs));
