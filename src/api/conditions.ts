// metav1.Condition helpers. `lastTransitionTime` moves only when a condition's status flips;
// a new reason or message on the same status keeps it (as meta.SetStatusCondition does).
import type { StatusReason } from './reasons.ts';
import type { Condition, ConditionType } from './scaledobject.ts';

export interface ConditionUpdate {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: StatusReason;
  readonly message: string;
}

export const findCondition = (
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined => conditions?.find((c) => c.type === type);

/** Returns a new list with `update` applied; the other conditions are kept as they are. */
export const setCondition = (
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] => {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === update.type);
  const previous = index >= 0 ? list[index] : undefined;
  const lastTransitionTime =
    previous?.status === update.status && previous.lastTransitionTime !== undefined
      ? previous.lastTransitionTime
      : toRFC3339(now);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime,
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
};

/** Kubernetes' metav1.Time is RFC 3339 with second precision. */
export const toRFC3339 = (t: Date): string => `${t.toISOString().slice(0, 19)}Z`;
