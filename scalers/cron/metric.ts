// The cron window, pure: a config and `now` in, the metric and its activity out.
import { CronExpressionParser } from 'cron-parser';
import type { CronConfig } from './schema.ts';

export interface CronWindow {
  readonly active: boolean;
  /** desiredReplicas inside the window, 0 outside. */
  readonly value: number;
  /**
   * ms: the earliest next start or end occurrence after `now`. The window cannot change before
   * then, so a reader may reuse this result for any time in [now, validUntil).
   */
  readonly validUntil: number;
}

const SECOND_MS = 1000;
/** Forward steps from the anchor to `now`; a handful suffice (see lastOccurrence). */
const MAX_FORWARD_STEPS = 16;

/**
 * The latest occurrence of `expression` at or before `now` (ms), in `timezone`; undefined when
 * it never fired.
 *
 * Occurrences are the ones cron-parser's forward iteration yields, which follows cron's own DST
 * rules: a time in the spring-forward gap fires once, shifted by the gap (02:30 -> 03:30), and
 * a time in the repeated fall-back hour fires once, at its first occurrence. Its `prev()`
 * disagrees on both (it skips the shifted time and yields the repeated one), so `prev()` only
 * finds an anchor two occurrences back and the answer is found walking forward from there.
 */
export const lastOccurrence = (expression: string, timezone: string, now: number): number | undefined => {
  // Occurrences are whole minutes, so `t <= now` iff `t <= at`; prev() is exclusive, hence + 1 s.
  const at = Math.floor(now / SECOND_MS) * SECOND_MS;
  const backward = CronExpressionParser.parse(expression, {
    currentDate: new Date(at + SECOND_MS),
    tz: timezone,
  });
  let anchor: number | undefined;
  for (let i = 0; i < 2; i++) {
    try {
      anchor = backward.prev().getTime();
    } catch {
      break; // no earlier occurrence (cron-parser gives up after its search limit)
    }
  }
  if (anchor === undefined) return undefined;
  const forward = CronExpressionParser.parse(expression, {
    currentDate: new Date(anchor - SECOND_MS),
    tz: timezone,
  });
  let last: number | undefined;
  for (let i = 0; i < MAX_FORWARD_STEPS; i++) {
    const t = forward.next().getTime();
    if (t > at) break;
    last = t;
  }
  return last ?? anchor;
};

/**
 * Is `now` inside the window? active iff lastStart > lastEnd, both taken at or before `now` in
 * the config's time zone: the window opens at a start match (inclusive) and closes at an end
 * match (exclusive); when both match the same minute, the end wins. This covers windows that
 * span midnight (start 22:00, end 06:00) and weekday ranges without special cases.
 *
 * value = active ? desiredReplicas : 0 (metric target 1, AverageValue: replicas = value).
 */
export const cronWindow = (config: CronConfig, now: Date): CronWindow => {
  const t = now.getTime();
  const lastStart = lastOccurrence(config.start, config.timezone, t);
  const lastEnd = lastOccurrence(config.end, config.timezone, t);
  const active = lastStart !== undefined && (lastEnd === undefined || lastStart > lastEnd);
  const validUntil = Math.min(
    nextOccurrence(config.start, config.timezone, t),
    nextOccurrence(config.end, config.timezone, t),
  );
  return { active, value: active ? config.desiredReplicas : 0, validUntil };
};

/** The first occurrence of `expression` strictly after `now` (ms); +Infinity when none. */
export const nextOccurrence = (expression: string, timezone: string, now: number): number => {
  const at = Math.floor(now / SECOND_MS) * SECOND_MS;
  try {
    return CronExpressionParser.parse(expression, { currentDate: new Date(at), tz: timezone })
      .next()
      .getTime();
  } catch {
    return Number.POSITIVE_INFINITY;
  }
};
