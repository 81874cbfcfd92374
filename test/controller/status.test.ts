import { describe, expect, it } from 'vitest';
import { ScaledObjectReady } from '../../src/api/reasons.ts';
import { applyPatch, statusPatch } from '../../src/controller/status.ts';

const now = new Date('2025-01-06T10:00:00Z');
const later = new Date('2025-01-06T11:00:00Z');
const ready = { type: 'Ready' as const, status: 'True' as const, reason: ScaledObjectReady, message: 'ok' };

describe('statusPatch', () => {
  const cases: {
    label: string;
    known: Parameters<typeof statusPatch>[0];
    change: Parameters<typeof statusPatch>[1];
    want: unknown;
  }[] = [
    { label: 'nothing asked', known: {}, change: {}, want: undefined },
    {
      label: 'same condition, same generation: no write',
      known: {
        conditions: [{ ...ready, lastTransitionTime: '2025-01-06T09:00:00Z', observedGeneration: 1 }],
      },
      change: { conditions: [ready] },
      want: undefined,
    },
    {
      label: 'new generation: rewritten, transition time kept',
      known: {
        conditions: [{ ...ready, lastTransitionTime: '2025-01-06T09:00:00Z', observedGeneration: 0 }],
      },
      change: { conditions: [ready] },
      want: { conditions: [{ ...ready, lastTransitionTime: '2025-01-06T09:00:00Z', observedGeneration: 1 }] },
    },
    {
      label: 'same field: no write',
      known: { currentReplicas: 3 },
      change: { fields: { currentReplicas: 3 } },
      want: undefined,
    },
    {
      label: 'same map in another key order (as the API server sorts it): no write',
      known: {
        health: { a: { numberOfFailures: 0, status: 'Happy' }, b: { status: 'Happy', numberOfFailures: 0 } },
      },
      change: {
        fields: {
          health: {
            b: { numberOfFailures: 0, status: 'Happy' },
            a: { numberOfFailures: 0, status: 'Happy' },
          },
        },
      },
      want: undefined,
    },
    {
      label: 'changed field',
      known: { currentReplicas: 3 },
      change: { fields: { currentReplicas: 4 } },
      want: { currentReplicas: 4 },
    },
    {
      label: 'null removes a present field',
      known: { pausedReplicaCount: 2 },
      change: { fields: { pausedReplicaCount: null } },
      want: { pausedReplicaCount: null },
    },
    {
      label: 'null on an absent field: no write',
      known: {},
      change: { fields: { pausedReplicaCount: null } },
      want: undefined,
    },
    {
      label: 'a health key that went away is sent as null',
      known: {
        health: {
          a: { numberOfFailures: 0, status: 'Happy' },
          b: { numberOfFailures: 1, status: 'Failing' },
        },
      },
      change: { fields: { health: { a: { numberOfFailures: 0, status: 'Happy' } } } },
      want: { health: { a: { numberOfFailures: 0, status: 'Happy' }, b: null } },
    },
  ];
  for (const c of cases) {
    it(c.label, () => {
      expect(statusPatch(c.known, c.change, 1, later)).toEqual(c.want);
    });
  }

  it('applyPatch merges like the API server', () => {
    const known = {
      pausedReplicaCount: 2,
      health: { a: { numberOfFailures: 1 }, b: { numberOfFailures: 2 } },
    };
    expect(
      applyPatch(known, { pausedReplicaCount: null, health: { b: null } as never, currentReplicas: 1 }),
    ).toEqual({
      health: { a: { numberOfFailures: 1 } },
      currentReplicas: 1,
    });
    void now;
  });
});
