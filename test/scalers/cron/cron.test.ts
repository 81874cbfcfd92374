import { describe, expect, it } from 'vitest';
import { cronScaler } from '../../../scalers/cron/index.ts';
import { cronWindow } from '../../../scalers/cron/metric.ts';
import type { CronConfig } from '../../../scalers/cron/schema.ts';
import { CronWindows, createCronScaler } from '../../../scalers/cron/source.ts';
import type { Trigger } from '../../../src/api/scaledobject.ts';
import type { TriggerContext } from '../../../src/scaler.ts';

const ctx = (metadata: Record<string, string>, index = 0, extra: Partial<Trigger> = {}): TriggerContext => ({
  index,
  trigger: { type: 'cron', metadata, ...extra },
  authParams: {},
});

const kolkata = { timezone: 'Asia/Kolkata', start: '0 6 * * *', end: '0 20 * * *', desiredReplicas: '10' };

// ---- metadata table: { metadata, error? } where error = [metadata key, message pattern] ----

const metadataCases: Array<{ label: string; metadata: Record<string, string>; error?: [string, RegExp] }> = [
  { label: 'the docs example', metadata: kolkata },
  {
    label: 'Etc/UTC with an hourly window (KEDA e2e)',
    metadata: { ...kolkata, timezone: 'Etc/UTC', start: '15 * * * *', end: '16 * * * *' },
  },
  { label: 'UTC', metadata: { ...kolkata, timezone: 'UTC' } },
  { label: 'a tz database link', metadata: { ...kolkata, timezone: 'US/Eastern' } },
  {
    label: 'names, steps and ranges',
    metadata: { ...kolkata, start: '*/15 9-17 * JAN-DEC MON-FRI', end: '0 18 ? * SUN' },
  },
  { label: 'unknown keys are ignored (as KEDA does)', metadata: { ...kolkata, somethingElse: 'x' } },
  {
    label: 'timezone missing',
    metadata: { start: '0 6 * * *', end: '0 20 * * *', desiredReplicas: '1' },
    error: ['timezone', /is required/],
  },
  {
    label: 'timezone empty',
    metadata: { ...kolkata, timezone: '' },
    error: ['timezone', /must not be empty/],
  },
  {
    label: 'timezone unknown',
    metadata: { ...kolkata, timezone: 'Mars/Olympus_Mons' },
    error: ['timezone', /unknown time zone "Mars\/Olympus_Mons"/],
  },
  {
    label: 'timezone as an offset',
    metadata: { ...kolkata, timezone: '+05:30' },
    error: ['timezone', /unknown time zone/],
  },
  {
    label: 'timezone in the wrong case (Go reads files)',
    metadata: { ...kolkata, timezone: 'europe/berlin' },
    error: ['timezone', /did you mean "Europe\/Berlin"/],
  },
  {
    label: 'start missing',
    metadata: { timezone: 'UTC', end: '0 20 * * *', desiredReplicas: '1' },
    error: ['start', /is required/],
  },
  { label: 'start empty', metadata: { ...kolkata, start: ' ' }, error: ['start', /must not be empty/] },
  {
    label: 'start with a seconds field',
    metadata: { ...kolkata, start: '0 0 6 * * *' },
    error: ['start', /5 fields .* got 6/],
  },
  {
    label: 'start as a descriptor',
    metadata: { ...kolkata, start: '@daily' },
    error: ['start', /5 fields .* got 1/],
  },
  {
    label: 'start with four fields',
    metadata: { ...kolkata, start: '0 6 * *' },
    error: ['start', /5 fields/],
  },
  {
    label: 'start with an H hash',
    metadata: { ...kolkata, start: 'H 6 * * *' },
    error: ['start', /extension/],
  },
  { label: 'start with L', metadata: { ...kolkata, start: '0 6 L * *' }, error: ['start', /extension/] },
  { label: 'start with #', metadata: { ...kolkata, start: '0 6 * * 1#1' }, error: ['start', /extension/] },
  {
    label: 'start minute out of range',
    metadata: { ...kolkata, start: '61 6 * * *' },
    error: ['start', /not a valid cron expression.*61/],
  },
  {
    label: 'end hour out of range',
    metadata: { ...kolkata, end: '0 24 * * *' },
    error: ['end', /not a valid cron expression/],
  },
  { label: 'end is not cron', metadata: { ...kolkata, end: 'at six' }, error: ['end', /5 fields/] },
  {
    label: 'end equals start',
    metadata: { ...kolkata, end: '0 6 * * *' },
    error: ['end', /must differ from start/],
  },
  {
    label: 'desiredReplicas missing',
    metadata: { timezone: 'UTC', start: '0 6 * * *', end: '0 7 * * *' },
    error: ['desiredReplicas', /is required/],
  },
  {
    label: 'desiredReplicas 0',
    metadata: { ...kolkata, desiredReplicas: '0' },
    error: ['desiredReplicas', /integer greater than 0, got "0"/],
  },
  {
    label: 'desiredReplicas negative',
    metadata: { ...kolkata, desiredReplicas: '-1' },
    error: ['desiredReplicas', /greater than 0/],
  },
  {
    label: 'desiredReplicas fractional',
    metadata: { ...kolkata, desiredReplicas: '1.5' },
    error: ['desiredReplicas', /integer/],
  },
  {
    label: 'desiredReplicas not a number',
    metadata: { ...kolkata, desiredReplicas: 'ten' },
    error: ['desiredReplicas', /integer/],
  },
  {
    label: 'desiredReplicas beyond int32',
    metadata: { ...kolkata, desiredReplicas: '2147483648' },
    error: ['desiredReplicas', /integer/],
  },
];

describe('cron metadata', () => {
  it.each(metadataCases)('$label', ({ metadata, error }) => {
    const parsed = cronScaler.parse(ctx(metadata, 2));
    if (error === undefined) {
      expect(parsed).toMatchObject({ ok: true });
      return;
    }
    const [key, message] = error;
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toContainEqual({
      path: `spec.triggers[2].metadata.${key}`,
      reason: 'InvalidTriggerMetadata',
      message: expect.stringMatching(message),
    });
  });

  it('reports every missing key at once', () => {
    const parsed = cronScaler.parse(ctx({}));
    expect(parsed.ok ? [] : parsed.error.map((p) => p.path)).toEqual([
      'spec.triggers[0].metadata.timezone',
      'spec.triggers[0].metadata.start',
      'spec.triggers[0].metadata.end',
      'spec.triggers[0].metadata.desiredReplicas',
    ]);
  });

  it('types desiredReplicas as a number', () => {
    expect(cronScaler.parse(ctx(kolkata))).toEqual({
      ok: true,
      value: { timezone: 'Asia/Kolkata', start: '0 6 * * *', end: '0 20 * * *', desiredReplicas: 10 },
    });
  });
});

describe('cron metric', () => {
  const metric = (metadata: Record<string, string>, index: number, extra: Partial<Trigger> = {}) => {
    const c = ctx(metadata, index, extra);
    const parsed = cronScaler.parse(c);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    return cronScaler.metric(parsed.value, c);
  };

  it.each([
    { label: 'the docs example', metadata: kolkata, index: 0, name: 's0-cron-Asia-Kolkata-06xxx-020xxx' },
    {
      label: 'steps and question marks (KEDA: / -> Sl, ? -> Qm)',
      metadata: { ...kolkata, timezone: 'Etc/UTC', start: '*/5 * ? * *', end: '1 * * * *' },
      index: 3,
      name: 's3-cron-Etc-UTC-xSl5xQmxx-1xxxx',
    },
  ])('is named as KEDA names it: $label', ({ metadata, index, name }) => {
    expect(metric(metadata, index)).toEqual({ name, target: 1, metricType: 'AverageValue' });
  });

  it('honours metricType Value', () => {
    expect(metric(kolkata, 0, { metricType: 'Value' }).metricType).toBe('Value');
  });
});

// ---- windows, with the clock injected. Instants are written in local time with their offset. ----

const config = (timezone: string, start: string, end: string, desiredReplicas = 3): CronConfig => ({
  timezone,
  start,
  end,
  desiredReplicas,
});

interface WindowCase {
  readonly at: string;
  readonly active: boolean;
}

const expectWindow = (c: CronConfig, cases: readonly WindowCase[]) => {
  const got = cases.map(({ at }) => ({ at, active: cronWindow(c, new Date(at)).active }));
  expect(got).toEqual(cases.map(({ at, active }) => ({ at, active })));
  for (const { at, active } of cases) {
    expect(cronWindow(c, new Date(at)).value, at).toBe(active ? c.desiredReplicas : 0);
  }
};

describe('cron window', () => {
  it('a day window: opens at start (inclusive), closes at end (exclusive)', () => {
    expectWindow(config('Etc/UTC', '0 9 * * *', '0 17 * * *'), [
      { at: '2024-06-03T08:59:59.999Z', active: false },
      { at: '2024-06-03T09:00:00.000Z', active: true },
      { at: '2024-06-03T09:00:00.500Z', active: true },
      { at: '2024-06-03T12:00:00Z', active: true },
      { at: '2024-06-03T16:59:59.999Z', active: true },
      { at: '2024-06-03T17:00:00.000Z', active: false },
      { at: '2024-06-03T23:30:00Z', active: false },
      { at: '2024-06-04T00:30:00Z', active: false },
    ]);
  });

  it('an hourly minute-long window (KEDA e2e)', () => {
    expectWindow(config('Etc/UTC', '15 * * * *', '16 * * * *', 4), [
      { at: '2024-06-03T10:14:59Z', active: false },
      { at: '2024-06-03T10:15:00Z', active: true },
      { at: '2024-06-03T10:15:59Z', active: true },
      { at: '2024-06-03T10:16:00Z', active: false },
      { at: '2024-06-03T11:15:30Z', active: true },
    ]);
  });

  it('the value is desiredReplicas inside and 0 outside', () => {
    const c = config('Asia/Kolkata', '0 6 * * *', '0 20 * * *', 10);
    expect(cronWindow(c, new Date('2024-06-03T12:00:00+05:30'))).toEqual({
      active: true,
      value: 10,
      validUntil: Date.parse('2024-06-03T20:00:00+05:30'), // the next end
    });
    expect(cronWindow(c, new Date('2024-06-03T21:00:00+05:30'))).toEqual({
      active: false,
      value: 0,
      validUntil: Date.parse('2024-06-04T06:00:00+05:30'), // the next start
    });
  });

  it('the scaler reuses a window until its next boundary, and re-evaluates when time goes back', async () => {
    const c = config('Etc/UTC', '0 8 * * *', '0 9 * * *', 3);
    const scaler = createCronScaler(c, { name: 's0-cron', target: 1, metricType: 'AverageValue' });
    const read = async (iso: string) => {
      const r = await scaler.read(new Date(iso), new AbortController().signal);
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    };
    expect(await read('2024-06-03T07:59:59Z')).toEqual({ active: false, value: 0 });
    expect(await read('2024-06-03T08:00:00Z')).toEqual({ active: true, value: 3 });
    expect(await read('2024-06-03T08:59:59Z')).toEqual({ active: true, value: 3 });
    expect(await read('2024-06-03T09:00:00Z')).toEqual({ active: false, value: 0 });
    expect(await read('2024-06-03T08:30:00Z')).toEqual({ active: true, value: 3 });
  });

  it('the time zone decides the wall clock', () => {
    const c = config('Asia/Kolkata', '0 6 * * *', '0 20 * * *');
    expectWindow(c, [
      { at: '2024-06-03T00:29:00Z', active: false }, // 05:59 IST
      { at: '2024-06-03T00:30:00Z', active: true }, // 06:00 IST
      { at: '2024-06-03T14:29:00Z', active: true }, // 19:59 IST
      { at: '2024-06-03T14:30:00Z', active: false }, // 20:00 IST
    ]);
  });

  it('a window spanning midnight', () => {
    expectWindow(config('Asia/Kolkata', '0 22 * * *', '0 6 * * *'), [
      { at: '2024-06-03T21:59:00+05:30', active: false },
      { at: '2024-06-03T22:00:00+05:30', active: true },
      { at: '2024-06-03T23:59:59+05:30', active: true },
      { at: '2024-06-04T00:00:00+05:30', active: true },
      { at: '2024-06-04T05:59:59+05:30', active: true },
      { at: '2024-06-04T06:00:00+05:30', active: false },
      { at: '2024-06-04T12:00:00+05:30', active: false },
    ]);
  });

  it('a weekday window (Mon-Fri 08:00-18:00)', () => {
    expectWindow(config('Europe/Berlin', '0 8 * * 1-5', '0 18 * * 1-5'), [
      { at: '2024-06-03T07:59:00+02:00', active: false }, // Monday
      { at: '2024-06-03T08:00:00+02:00', active: true },
      { at: '2024-06-07T17:59:00+02:00', active: true }, // Friday
      { at: '2024-06-07T18:00:00+02:00', active: false },
      { at: '2024-06-08T10:00:00+02:00', active: false }, // Saturday
      { at: '2024-06-09T10:00:00+02:00', active: false }, // Sunday
    ]);
  });

  it('a weekend window (Friday 18:00 to Monday 08:00, by day names)', () => {
    expectWindow(config('Europe/Berlin', '0 18 * * FRI', '0 8 * * MON'), [
      { at: '2024-06-07T17:59:00+02:00', active: false }, // Friday
      { at: '2024-06-07T18:00:00+02:00', active: true },
      { at: '2024-06-08T12:00:00+02:00', active: true }, // Saturday
      { at: '2024-06-09T23:00:00+02:00', active: true }, // Sunday
      { at: '2024-06-10T07:59:59+02:00', active: true }, // Monday
      { at: '2024-06-10T08:00:00+02:00', active: false },
      { at: '2024-06-12T12:00:00+02:00', active: false }, // Wednesday
    ]);
  });

  it('when start and end match the same minute, the end wins', () => {
    // Starts every day at 09:00, ends on Mondays at 09:00: closed all Monday, open Tuesday on.
    expectWindow(config('Etc/UTC', '0 9 * * *', '0 9 * * 1'), [
      { at: '2024-06-03T09:00:00Z', active: false }, // Monday
      { at: '2024-06-03T15:00:00Z', active: false },
      { at: '2024-06-04T09:00:00Z', active: true }, // Tuesday
      { at: '2024-06-09T23:00:00Z', active: true }, // Sunday
    ]);
  });

  describe('Europe/Berlin, spring forward (2024-03-31, 02:00 CET -> 03:00 CEST)', () => {
    it('a day window follows the wall clock', () => {
      expectWindow(config('Europe/Berlin', '0 9 * * *', '0 17 * * *'), [
        { at: '2024-03-30T09:00:00+01:00', active: true },
        { at: '2024-03-31T08:59:00+02:00', active: false },
        { at: '2024-03-31T09:00:00+02:00', active: true }, // 07:00Z, an hour earlier in UTC
        { at: '2024-03-31T16:59:00+02:00', active: true },
        { at: '2024-03-31T17:00:00+02:00', active: false },
      ]);
    });

    it('a start inside the skipped hour opens the window shifted by the gap (02:30 -> 03:30)', () => {
      expectWindow(config('Europe/Berlin', '30 2 * * *', '0 6 * * *'), [
        { at: '2024-03-31T01:59:00+01:00', active: false },
        { at: '2024-03-31T03:29:00+02:00', active: false },
        { at: '2024-03-31T03:30:00+02:00', active: true },
        { at: '2024-03-31T05:59:00+02:00', active: true },
        { at: '2024-03-31T06:00:00+02:00', active: false },
        { at: '2024-04-01T02:30:00+02:00', active: true }, // and back to 02:30 the day after
      ]);
    });

    it('a window across the skipped hour lasts an hour less', () => {
      expectWindow(config('Europe/Berlin', '0 1 * * *', '0 4 * * *'), [
        { at: '2024-03-31T00:59:00+01:00', active: false },
        { at: '2024-03-31T01:00:00+01:00', active: true },
        { at: '2024-03-31T01:59:59+01:00', active: true },
        { at: '2024-03-31T03:00:00+02:00', active: true }, // the instant after 01:59:59 CET
        { at: '2024-03-31T03:59:00+02:00', active: true },
        { at: '2024-03-31T04:00:00+02:00', active: false },
      ]);
    });
  });

  describe('Europe/Berlin, fall back (2024-10-27, 03:00 CEST -> 02:00 CET)', () => {
    it('a day window follows the wall clock', () => {
      expectWindow(config('Europe/Berlin', '0 9 * * *', '0 17 * * *'), [
        { at: '2024-10-27T08:59:00+01:00', active: false },
        { at: '2024-10-27T09:00:00+01:00', active: true }, // 08:00Z, an hour later in UTC
        { at: '2024-10-27T17:00:00+01:00', active: false },
      ]);
    });

    it('an end inside the repeated hour fires once, at its first occurrence', () => {
      expectWindow(config('Europe/Berlin', '0 1 * * *', '30 2 * * *'), [
        { at: '2024-10-27T01:00:00+02:00', active: true },
        { at: '2024-10-27T02:29:00+02:00', active: true },
        { at: '2024-10-27T02:30:00+02:00', active: false },
        { at: '2024-10-27T02:15:00+01:00', active: false }, // the repeated 02:15 stays closed
        { at: '2024-10-27T02:45:00+01:00', active: false },
      ]);
    });

    it('a window open across the repeated hour stays open for it', () => {
      expectWindow(config('Europe/Berlin', '30 2 * * *', '0 4 * * *'), [
        { at: '2024-10-27T02:29:00+02:00', active: false },
        { at: '2024-10-27T02:30:00+02:00', active: true },
        { at: '2024-10-27T02:10:00+01:00', active: true },
        { at: '2024-10-27T02:30:00+01:00', active: true },
        { at: '2024-10-27T03:59:00+01:00', active: true },
        { at: '2024-10-27T04:00:00+01:00', active: false },
      ]);
    });
  });

  describe('America/New_York', () => {
    it('spring forward (2024-03-10, 02:00 EST -> 03:00 EDT): a day window follows the wall clock', () => {
      expectWindow(config('America/New_York', '0 9 * * *', '0 17 * * *'), [
        { at: '2024-03-09T09:00:00-05:00', active: true },
        { at: '2024-03-10T08:59:00-04:00', active: false },
        { at: '2024-03-10T09:00:00-04:00', active: true },
        { at: '2024-03-10T17:00:00-04:00', active: false },
      ]);
    });

    it('spring forward: an overnight window stays open across the jump', () => {
      expectWindow(config('America/New_York', '0 22 * * *', '0 6 * * *'), [
        { at: '2024-03-09T22:00:00-05:00', active: true },
        { at: '2024-03-10T01:59:00-05:00', active: true },
        { at: '2024-03-10T03:00:00-04:00', active: true },
        { at: '2024-03-10T05:59:00-04:00', active: true },
        { at: '2024-03-10T06:00:00-04:00', active: false },
      ]);
    });

    it('fall back (2024-11-03, 02:00 EDT -> 01:00 EST): a start in the repeated hour fires once', () => {
      expectWindow(config('America/New_York', '30 1 * * *', '0 3 * * *'), [
        { at: '2024-11-03T01:29:00-04:00', active: false },
        { at: '2024-11-03T01:30:00-04:00', active: true },
        { at: '2024-11-03T01:15:00-05:00', active: true }, // repeated hour, still open
        { at: '2024-11-03T02:59:00-05:00', active: true },
        { at: '2024-11-03T03:00:00-05:00', active: false },
      ]);
    });

    it('fall back: a window inside the repeated hour opens once, not twice', () => {
      expectWindow(config('America/New_York', '30 1 * * *', '45 1 * * *'), [
        { at: '2024-11-03T01:30:00-04:00', active: true },
        { at: '2024-11-03T01:45:00-04:00', active: false },
        { at: '2024-11-03T01:35:00-05:00', active: false }, // the wall clock repeats; the window does not
        { at: '2024-11-04T01:35:00-05:00', active: true },
      ]);
    });

    it('fall back: an end in the repeated hour closes the window once', () => {
      expectWindow(config('America/New_York', '0 0 * * *', '30 1 * * *'), [
        { at: '2024-11-03T01:29:00-04:00', active: true },
        { at: '2024-11-03T01:30:00-04:00', active: false },
        { at: '2024-11-03T01:31:00-05:00', active: false },
        { at: '2024-11-04T00:00:00-05:00', active: true },
      ]);
    });
  });
});

describe('cron scaler', () => {
  it('reads the window at the given now and nothing else', async () => {
    const c = ctx(kolkata);
    const parsed = cronScaler.parse(c);
    if (!parsed.ok) throw new Error('parse failed');
    const scaler = cronScaler.create(parsed.value, c, new CronWindows());
    expect(scaler.metric.name).toBe('s0-cron-Asia-Kolkata-06xxx-020xxx');
    const signal = new AbortController().signal;
    expect(await scaler.read(new Date('2024-06-03T12:00:00+05:30'), signal)).toEqual({
      ok: true,
      value: { active: true, value: 10 },
    });
    expect(await scaler.read(new Date('2024-06-03T05:00:00+05:30'), signal)).toEqual({
      ok: true,
      value: { active: false, value: 0 },
    });
    await scaler.close();
  });
});
