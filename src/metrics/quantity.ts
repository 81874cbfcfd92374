// Kubernetes quantities (apimachinery's resource.Quantity) for the values the adapter reports.
// We emit what KEDA emits, resource.NewMilliQuantity(milli, DecimalSI), in the canonical form
// its MarshalJSON writes, so a value reads the same through ebb as through a Go adapter:
//
//   milli     = round(value × 1000), 0 for NaN, ±Infinity and negatives, at most 2^63 − 1
//   canonical = milli × 10^-3 with every factor 10 moved into the exponent, then the exponent
//               lowered to a multiple of 3 (mantissa × 10 or × 100) and written as its suffix:
//               1.5 → "1500m", 2 → "2", 1500 → "1500", 2000 → "2k", 1.5e6 → "1500k", 0 → "0"
//
// The HPA reads external metrics as milli-values, so finer precision would be lost there anyway.

/** resource.NewMilliQuantity takes an int64. */
export const MAX_MILLI = 2n ** 63n - 1n;

const SUFFIX: Readonly<Record<number, string>> = {
  [-3]: 'm',
  0: '',
  3: 'k',
  6: 'M',
  9: 'G',
  12: 'T',
  15: 'P',
  18: 'E',
};

/** The value in whole milli-units, clamped to [0, MAX_MILLI]. */
export const milliUnits = (value: number): bigint => {
  if (!Number.isFinite(value) || value <= 0) return 0n;
  const scaled = Math.round(value * 1000); // Infinity for values near Number.MAX_VALUE
  if (scaled >= 2 ** 63) return MAX_MILLI;
  return BigInt(scaled);
};

/** The canonical DecimalSI form of `milli` × 10^-3 (milli in [0, MAX_MILLI]). */
export const formatMilliQuantity = (milli: bigint): string => {
  if (milli <= 0n) return '0';
  let mantissa = milli > MAX_MILLI ? MAX_MILLI : milli;
  let exponent = -3;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent += 1;
  }
  const extra = ((exponent % 3) + 3) % 3;
  mantissa *= 10n ** BigInt(extra);
  exponent -= extra;
  return `${mantissa}${SUFFIX[exponent] ?? `e${exponent}`}`;
};

/** A reported metric value as a Kubernetes quantity string. */
export const quantity = (value: number): string => formatMilliQuantity(milliUnits(value));

const PARSE = /^(0|[1-9][0-9]*)(m|k|M|G|T|P|E)?$/;
const EXPONENT: Readonly<Record<string, number>> = { m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** The inverse of formatMilliQuantity for the forms it writes (tests, and reading our own output). */
export const parseMilliQuantity = (text: string): bigint | undefined => {
  const m = PARSE.exec(text);
  if (m === null) return undefined;
  const exponent = (EXPONENT[m[2] ?? ''] ?? 0) + 3;
  const mantissa = BigInt(m[1] ?? '0');
  return exponent >= 0 ? mantissa * 10n ** BigInt(exponent) : undefined;
};
