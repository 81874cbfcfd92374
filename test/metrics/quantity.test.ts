import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatMilliQuantity,
  MAX_MILLI,
  milliUnits,
  parseMilliQuantity,
  quantity,
} from '../../src/metrics/quantity.ts';

// Produced by Go: resource.NewMilliQuantity(milli, resource.DecimalSI).MarshalJSON() with
// k8s.io/apimachinery v0.35.4 (the version of the test kube-apiserver).
const GO_CANONICAL: readonly (readonly [bigint, string])[] = [
  [0n, '0'],
  [1n, '1m'],
  [3n, '3m'],
  [5n, '5m'],
  [10n, '10m'],
  [30n, '30m'],
  [100n, '100m'],
  [250n, '250m'],
  [300n, '300m'],
  [999n, '999m'],
  [1000n, '1'],
  [1500n, '1500m'],
  [2000n, '2'],
  [3000n, '3'],
  [10000n, '10'],
  [12345n, '12345m'],
  [30000n, '30'],
  [100000n, '100'],
  [1000000n, '1k'],
  [1500000n, '1500'],
  [2000000n, '2k'],
  [1234567n, '1234567m'],
  [10000000n, '10k'],
  [100000000n, '100k'],
  [1500000000n, '1500k'],
  [1000000000000n, '1G'],
  [123000000000000n, '123G'],
  [1000000000000000000n, '1P'],
  [9223372036854775807n, '9223372036854775807m'],
  [9223372036854775000n, '9223372036854775'],
];

describe('formatMilliQuantity', () => {
  it.each(GO_CANONICAL)('%s milli-units → %s (as Go writes it)', (milli, text) => {
    expect(formatMilliQuantity(milli)).toBe(text);
  });
});

describe('quantity(value)', () => {
  const rows: readonly { label: string; value: number; text: string }[] = [
    { label: 'fraction', value: 1.5, text: '1500m' },
    { label: 'integer', value: 7, text: '7' },
    { label: 'thousands', value: 2000, text: '2k' },
    { label: 'rounded to the nearest milli', value: 0.0004, text: '0' },
    { label: 'rounded up to a milli', value: 0.0005, text: '1m' },
    { label: 'float noise', value: 0.1 * 3, text: '300m' },
    { label: 'NaN', value: Number.NaN, text: '0' },
    { label: '+Infinity', value: Number.POSITIVE_INFINITY, text: '0' },
    { label: '-Infinity', value: Number.NEGATIVE_INFINITY, text: '0' },
    { label: 'negative', value: -3, text: '0' },
    { label: 'negative zero', value: -0, text: '0' },
    { label: 'beyond int64 milli-units: capped', value: 1e300, text: '9223372036854775807m' },
  ];
  it.each(rows)('$label: $value → $text', ({ value, text }) => {
    expect(quantity(value)).toBe(text);
  });
});

describe('properties', () => {
  const values = fc.oneof(
    fc.double({ noNaN: false }),
    fc.integer({ min: 0, max: 1_000_000 }),
    fc.double({ min: 0, max: 1e6, noNaN: true }),
  );

  it('parses back to the same milli-units', () => {
    fc.assert(
      fc.property(values, (v) => {
        expect(parseMilliQuantity(quantity(v))).toBe(milliUnits(v));
      }),
    );
  });

  it('is canonical: no larger suffix could hold the mantissa (mantissa % 1000 != 0)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: MAX_MILLI }), (milli) => {
        const text = formatMilliQuantity(milli);
        const mantissa = BigInt(/^\d+/.exec(text)?.[0] ?? '0');
        expect(mantissa % 1000n).not.toBe(0n);
        expect(parseMilliQuantity(text)).toBe(milli);
      }),
    );
  });

  it('never reports less than 0 or more than MAX_MILLI', () => {
    fc.assert(
      fc.property(fc.double(), (v) => {
        const milli = milliUnits(v);
        expect(milli >= 0n && milli <= MAX_MILLI).toBe(true);
      }),
    );
  });

  it('is within half a milli of the value', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), (v) => {
        expect(Math.abs(Number(milliUnits(v)) / 1000 - v)).toBeLessThanOrEqual(0.0005 + v * 1e-15);
      }),
    );
  });
});
