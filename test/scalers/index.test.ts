import { describe, expect, it } from 'vitest';
import { cronScaler } from '../../scalers/cron/index.ts';
import {
  checkTriggers,
  createScalerDeps,
  isSupportedTriggerType,
  resolveTrigger,
  SUPPORTED_TRIGGER_TYPES,
  scalerDefinitionFor,
} from '../../scalers/index.ts';
import type { Trigger } from '../../src/api/scaledobject.ts';

const cron = (metadata: Record<string, string> = {}, extra: Partial<Trigger> = {}): Trigger => ({
  type: 'cron',
  metadata: { timezone: 'Etc/UTC', start: '0 9 * * *', end: '0 17 * * *', desiredReplicas: '2', ...metadata },
  ...extra,
});

describe('trigger registry', () => {
  it('serves cron, and nothing it does not have', () => {
    expect(SUPPORTED_TRIGGER_TYPES).toContain('cron');
    expect(isSupportedTriggerType('cron')).toBe(true);
    expect(scalerDefinitionFor('cron')).toBe(cronScaler);
    expect(scalerDefinitionFor('prometheus')).toBeUndefined();
    expect(isSupportedTriggerType('prometheus')).toBe(false);
  });

  it.each([
    { label: 'all fine', triggers: [cron()], problems: [] },
    {
      label: 'an unsupported type is named at its type',
      triggers: [cron(), { type: 'prometheus', metadata: { lagThreshold: '5' } }],
      problems: [
        {
          path: 'spec.triggers[1].type',
          reason: 'UnsupportedTriggerType',
          message: 'trigger type "prometheus" is not supported yet',
        },
      ],
    },
    {
      label: 'metadata problems carry the trigger index',
      triggers: [{ type: 'redis', metadata: {} }, cron({ desiredReplicas: '0' })],
      problems: [
        {
          path: 'spec.triggers[0].type',
          reason: 'UnsupportedTriggerType',
          message: 'trigger type "redis" is not supported yet',
        },
        {
          path: 'spec.triggers[1].metadata.desiredReplicas',
          reason: 'InvalidTriggerMetadata',
          message: 'must be an integer greater than 0, got "0"',
        },
      ],
    },
  ])('checkTriggers: $label', ({ triggers, problems }) => {
    expect(checkTriggers({ triggers })).toEqual(problems);
  });

  it('resolves a trigger: key, metric, offline evaluation and activation threshold', () => {
    const named = resolveTrigger(cron({}, { name: 'office-hours' }), 0);
    const unnamed = resolveTrigger(cron(), 1);
    expect(named).toMatchObject({
      ok: true,
      value: {
        index: 0,
        key: 'office-hours',
        metric: { name: 's0-cron-Etc-UTC-09xxx-017xxx', target: 1, metricType: 'AverageValue' },
        offline: true,
        activationThreshold: 0,
      },
    });
    expect(unnamed).toMatchObject({ ok: true, value: { key: 's1-cron-Etc-UTC-09xxx-017xxx' } });
  });

  it('creates a scaler that reads the given now', async () => {
    const resolved = resolveTrigger(cron(), 0);
    if (!resolved.ok) throw new Error('not resolved');
    const read = await resolved.value
      .create(createScalerDeps())
      .read(new Date('2024-06-03T10:00:00Z'), new AbortController().signal);
    expect(read).toEqual({ ok: true, value: { active: true, value: 2 } });
  });
});
