// The cron scaler answers polls from its last evaluation until the next start or end
// occurrence (scalers/cron/source.ts): a window's activity can only change at those instants.
// Property: for random rules, time zones (with and without DST, a 30-minute DST shift, a
// southern-hemisphere one) and sequences of instants around DST transitions, forwards and
// backwards, every cached answer equals the window evaluated from scratch (cronWindow), and
// where that evaluation fails, the cached path fails alike.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cronWindow } from '../../../scalers/cron/metric.ts';
import type { CronConfig } from '../../../scalers/cron/schema.ts';
import { CronWindows, createCronScaler } from '../../../scalers/cron/source.ts';

const ZONES = [
  'Etc/UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'America/Sao_Paulo',
  'Asia/Kolkata',
];

/** DST transitions of 2024 in those zones, ms (the instants are drawn around them). */
const ANCHORS = [
  '2024-03-31T01:00:00Z', // Berlin spring forward
  '2024-10-27T01:00:00Z', // Berlin fall back
  '2024-03-10T07:00:00Z', // New York spring forward
  '2024-11-03T06:00:00Z', // New York fall back
  '2024-04-06T15:00:00Z', // Lord Howe: back 30 minutes
  '2024-10-05T15:30:00Z', // Lord Howe: forward 30 minutes
  '2024-06-03T12:00:00Z',
].map((s) => Date.parse(s));

const HOUR = 3_600_000;

const expression = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 }))
    .map(([m, h]) => `${m} ${h} * * *`),
  fc.constantFrom(1, 2, 5, 15, 30).map((n) => `*/${n} * * * *`),
  fc.integer({ min: 0, max: 23 }).map((h) => `30 ${h} * * *`),
  fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 6 }))
    .map(([h, d]) => `0 ${h} * * ${d}`),
  fc.constantFrom('0 2 * * *', '30 2 * * *', '0 3 * * *', '* * * * *', '0 0 1 1 *'),
);

const config = fc.record({
  timezone: fc.constantFrom(...ZONES),
  start: expression,
  end: expression,
  desiredReplicas: fc.integer({ min: 1, max: 50 }),
});

/** A walk of instants near an anchor: mostly small steps forward, some back, some jumps. */
const instants = fc
  .tuple(
    fc.constantFrom(...ANCHORS),
    fc.integer({ min: -36 * HOUR, max: 36 * HOUR }),
    fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 90_000 }),
        fc.integer({ min: 0, max: 3 * HOUR }),
        fc.integer({ min: -2 * HOUR, max: 0 }),
      ),
      { minLength: 1, maxLength: 25 },
    ),
  )
  .map(([anchor, offset, steps]) => {
    let t = anchor + offset;
    return steps.map((s) => {
      t += s;
      return t;
    });
  });

/** What `f` returns, or what it threw. */
const outcome = <T>(f: () => T): T | { thrown: string } => {
  try {
    return f();
  } catch (err) {
    return { thrown: String(err) };
  }
};

describe('cron scaler: cached answers', () => {
  it('equal the window evaluated from scratch, for any rule, zone and walk of instants', async () => {
    await fc.assert(
      fc.asyncProperty(config, instants, async (c: CronConfig, times: number[]) => {
        // One memo shared by two scalers of the same window, as a controller shares it.
        const windows = new CronWindows();
        const metric = { name: 's0-cron', target: 1, metricType: 'AverageValue' as const };
        const scalers = [createCronScaler(c, metric, windows), createCronScaler(c, metric, windows)];
        const signal = new AbortController().signal;
        for (const t of times) {
          // cron-parser gives up on some instants (Australia/Lord_Howe's 30-minute fall-back:
          // "loop limit exceeded"); then the cached path must fail the same way, not answer.
          const fresh = outcome(() => {
            const w = cronWindow(c, new Date(t));
            return { ok: true, value: { value: w.value, active: w.active } };
          });
          for (const scaler of scalers) {
            const cached = await scaler.read(new Date(t), signal).then(
              (r) => r,
              (err: unknown) => ({ thrown: String(err) }),
            );
            expect(cached, `${c.timezone} ${c.start} / ${c.end} at ${new Date(t).toISOString()}`).toEqual(
              fresh,
            );
          }
        }
      }),
      {
        numRuns: 100,
        // Found by this property: cron-parser's loop limit at Lord Howe's fall-back instant.
        examples: [
          [
            { timezone: 'Australia/Lord_Howe', start: '0 1 * * *', end: '30 0 * * *', desiredReplicas: 1 },
            [Date.parse('2024-04-06T15:00:00Z'), Date.parse('2024-04-06T15:00:30Z')],
          ],
        ],
      },
    );
  }, 120_000);
});
