// Reconcile's refusals: the scaling loop stops, Ready=False carries the reason and message, and a
// Warning Event is recorded only when that condition changes.
import { type ConditionUpdate, findCondition } from '../api/conditions.ts';
import { formatProblem, InvalidSpec, type Problem, type StatusReason } from '../api/reasons.ts';
import { stopLoop } from './loop-lifecycle.ts';
import type { ReconcileContext } from './reconcile-context.ts';
import type { Tracked } from './tracked.ts';

/** Invalid spec: no polling; Ready=False with the first problem's reason, every problem in the message. */
export const refuse = async (
  ctx: ReconcileContext,
  t: Tracked,
  problems: readonly Problem[],
): Promise<void> => {
  stopLoop(ctx, t);
  for (const k of ctx.claims.release(t.key)) ctx.enqueue(k);
  const first = problems[0];
  const reason = first?.reason ?? InvalidSpec;
  const message = problems.map(formatProblem).join('; ');
  await report(ctx, t, { type: 'Ready', status: 'False', reason, message }, { reason, note: message });
};

/** Writes Ready=False; records a Warning Event only when that condition changes. */
export const report = async (
  ctx: ReconcileContext,
  t: Tracked,
  condition: ConditionUpdate,
  event: { reason: StatusReason; note: string },
): Promise<void> => {
  const ready = findCondition(t.status.conditions, 'Ready');
  const changed =
    ready?.status !== condition.status ||
    ready.reason !== condition.reason ||
    ready.message !== condition.message;
  await ctx.writeStatus(t, { conditions: [condition] });
  if (!changed) return;
  ctx.events.record(t.regarding, {
    type: 'Warning',
    reason: event.reason,
    action: 'Validate',
    note: event.note,
  });
  t.log.warn({ reason: event.reason }, event.note);
};
