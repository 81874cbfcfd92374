// What the controller accepts in an activator's report (src/controller/activator-reports.ts),
// checked before anything reaches the ActivationFeed. Bounds, each with why:
//   inFlight, held, a poke's held      integers in [0, 1e6]: no activator holds more (its global
//                                      hold cap defaults to 10,000); a forged 1e9 would scale to max
//   requests, concurrencyMs            counters since the activator started: finite, in [0, 2^53)
//   routes, aliases, unresolved        at most 10,000 each per report (the 1 MiB body allows ~10k)
//   route keys, ids, names             at most 512 characters (namespace/name#index is ≤ 330)
//   at (stats, poke, a poke's stats)   within ±30 s of the controller's clock: a report from the
//                                      future would hide the activator's real ones (the feed keeps
//                                      the newest), one from the past is stale anyway (ClockSkew)
//   a poke's stats                     taken by the poking activator
// A refusal names the field and why: `routes.3.inFlight: Too big: expected number to be <=1000000`.
import { z } from 'zod';
import { ClockSkew, InvalidReport, type ReportRefusal } from '../api/reasons.ts';
import type { ActivatorStats } from '../routing/reports.ts';

export const REPORT_LIMITS = {
  maxGauge: 1_000_000,
  maxListed: 10_000,
  maxKeyLength: 512,
  maxAliasLength: 4_096,
  clockSkewMs: 30_000,
} as const;

const gauge = z.number().int().nonnegative().max(REPORT_LIMITS.maxGauge);
const counter = z.number().nonnegative().max(Number.MAX_SAFE_INTEGER);
const key = z.string().min(1).max(REPORT_LIMITS.maxKeyLength);
const activatorId = z.string().min(1).max(253);
const at = z.number().positive().max(Number.MAX_SAFE_INTEGER);

const RouteStatsSchema = z.object({
  route: key,
  inFlight: gauge,
  held: gauge,
  requests: counter.int(),
  concurrencyMs: counter,
});

const UnresolvedPortSchema = z.object({ route: key, namespace: key, service: key, port: key });

const ActivatorStatsSchema = z.object({
  activator: activatorId,
  at,
  routes: z.array(RouteStatsSchema).max(REPORT_LIMITS.maxListed),
  aliases: z
    .record(z.string().max(REPORT_LIMITS.maxAliasLength), key)
    .refine((a) => Object.keys(a).length <= REPORT_LIMITS.maxListed, {
      message: `at most ${REPORT_LIMITS.maxListed} aliases`,
    })
    .optional(),
  unresolved: z.array(UnresolvedPortSchema).max(REPORT_LIMITS.maxListed).optional(),
});

const PokeSchema = z
  .object({
    activator: activatorId,
    route: key,
    held: gauge,
    /** ms since the epoch the poke was taken at; default: when it arrived. */
    at: at.optional(),
    stats: ActivatorStatsSchema.optional(),
  })
  .refine((p) => p.stats === undefined || p.stats.activator === p.activator, {
    message: "must be the poking activator's",
    path: ['stats', 'activator'],
  });

const GoodbyeSchema = z.object({ activator: activatorId });

export interface Poke {
  readonly activator: string;
  readonly route: string;
  readonly held: number;
  readonly at: number;
  readonly stats: ActivatorStats | undefined;
}

export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: ReportRefusal; readonly message: string };

/** zod issues → `field: why; field: why` (the first few). */
const describeIssues = (error: z.ZodError): string =>
  error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length === 0 ? '(body)' : i.path.join('.')}: ${i.message}`)
    .join('; ');

const invalid = (error: z.ZodError): Checked<never> => ({
  ok: false,
  reason: InvalidReport,
  message: describeIssues(error),
});

/** `field: <time> is N s ahead of / behind the controller's clock (allowed ±30 s)`, or undefined. */
const skew = (field: string, t: number, now: number): Checked<never> | undefined => {
  const off = t - now;
  if (Math.abs(off) <= REPORT_LIMITS.clockSkewMs) return undefined;
  const seconds = Math.round(Math.abs(off) / 1000);
  return {
    ok: false,
    reason: ClockSkew,
    message: `${field}: ${new Date(t).toISOString()} is ${seconds} s ${off > 0 ? 'ahead of' : 'behind'} the controller's clock (allowed ±${REPORT_LIMITS.clockSkewMs / 1000} s)`,
  };
};

/** A stats body, with `now` (ms since the epoch) the controller's clock. */
export const checkStats = (body: unknown, now: number): Checked<ActivatorStats> => {
  const parsed = ActivatorStatsSchema.safeParse(body);
  if (!parsed.success) return invalid(parsed.error);
  return skew('at', parsed.data.at, now) ?? { ok: true, value: parsed.data as ActivatorStats };
};

/** A poke body; an omitted `at` is `now`. */
export const checkPoke = (body: unknown, now: number): Checked<Poke> => {
  const parsed = PokeSchema.safeParse(body);
  if (!parsed.success) return invalid(parsed.error);
  const p = parsed.data;
  const bad =
    (p.at === undefined ? undefined : skew('at', p.at, now)) ??
    (p.stats === undefined ? undefined : skew('stats.at', p.stats.at, now));
  if (bad !== undefined) return bad;
  return {
    ok: true,
    value: {
      activator: p.activator,
      route: p.route,
      held: p.held,
      at: p.at ?? now,
      stats: p.stats as ActivatorStats | undefined,
    },
  };
};

export const checkGoodbye = (body: unknown): Checked<{ activator: string }> => {
  const parsed = GoodbyeSchema.safeParse(body);
  return parsed.success ? { ok: true, value: parsed.data } : invalid(parsed.error);
};
