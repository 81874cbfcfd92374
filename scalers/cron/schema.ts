// KEDA's `cron` trigger metadata (pkg/scalers/cron_scaler.go): `timezone` (IANA), `start` and
// `end` (5-field cron, different), `desiredReplicas` (> 0). Unknown keys are ignored, as KEDA does.
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import type { Problem, Result } from '../../src/api/reasons.ts';
import type { TriggerContext } from '../../src/scaler.ts';
import { INT32_MAX, parseMetadata } from '../kit/metadata.ts';

export interface CronConfig {
  /** IANA time zone the schedules are read in (`Europe/Berlin`). */
  readonly timezone: string;
  /** 5-field cron expression: the window opens at each match. */
  readonly start: string;
  /** 5-field cron expression: the window closes at each match. */
  readonly end: string;
  /** The metric while the window is open (target 1 per replica, so it is the replica count). */
  readonly desiredReplicas: number;
}

/** Why `name` is not a time zone Go's time.LoadLocation (KEDA) would load, or undefined. */
export const timeZoneProblem = (name: string): string | undefined => {
  const unknown = `unknown time zone "${name}", expected an IANA name such as "Europe/Berlin" or "Etc/UTC"`;
  // Intl also takes UTC offsets (`+05:30`); Go's time.LoadLocation does not.
  if (!/^[A-Za-z]/.test(name)) return unknown;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return unknown;
  }
  // Intl ignores case; Go reads the tz database by file name, so `europe/berlin` fails there.
  if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) {
    return `unknown time zone "${name}" (did you mean "${resolved}"?)`;
  }
  return undefined;
};

// robfig/cron with Minute|Hour|Dom|Month|Dow (KEDA's parser): no seconds field, no @descriptors,
// none of cron-parser's extensions (H hashes, L last, # nth weekday), which KEDA would refuse.
// Month and day names are the only letters it takes. The /g regex is made per call: one kept at
// module level would be state (its lastIndex) shared by every caller.
const withoutNames = (field: string): string =>
  field.replace(/\b(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)\b/gi, '');

/** Why `expression` is not a 5-field cron expression KEDA accepts, or undefined. */
export const cronExpressionProblem = (expression: string): string | undefined => {
  const fields = expression
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
  if (fields.length !== 5) {
    return `must be a cron expression with 5 fields (minute hour day-of-month month day-of-week), got ${fields.length} in "${expression}"`;
  }
  for (const field of fields) {
    if (field.includes('#') || /[A-Za-z]/.test(withoutNames(field))) {
      return `field "${field}" of "${expression}" uses a cron extension KEDA does not support (H, L, W or #)`;
    }
  }
  try {
    CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: new Date(0) }).next();
  } catch (error) {
    return `is not a valid cron expression "${expression}": ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
};

const cronExpression = z.string().superRefine((value, ctx) => {
  if (value.trim() === '') {
    ctx.addIssue({ code: 'custom', message: 'must not be empty' });
    return;
  }
  const problem = cronExpressionProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

export const CronMetadataSchema = z
  .object({
    timezone: z.string().superRefine((value, ctx) => {
      const problem = value.trim() === '' ? 'must not be empty' : timeZoneProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
    start: cronExpression,
    end: cronExpression,
    desiredReplicas: z
      .string()
      .superRefine((value, ctx) => {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n <= 0 || n > INT32_MAX) {
          ctx.addIssue({ code: 'custom', message: `must be an integer greater than 0, got "${value}"` });
        }
      })
      .transform(Number),
  })
  .superRefine((m, ctx) => {
    if (m.start.trim() === m.end.trim()) {
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message: `must differ from start ("${m.start}"): a window that opens and closes at once is never active`,
      });
    }
  });

/** Parses `spec.triggers[i].metadata` of a cron trigger; problems carry the full field path. */
export const parseCronMetadata = (ctx: TriggerContext): Result<CronConfig, Problem[]> =>
  parseMetadata(CronMetadataSchema, ctx);
