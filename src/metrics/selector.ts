// Kubernetes label selectors as the HPA sends them in `?labelSelector=` (labels.Selector's
// string form): comma-separated requirements `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
// `k notin (a,b)`. Pure: parse once, then match label sets.
import { BadRequest, type PlatformReason, type Result } from '../api/reasons.ts';

export type Requirement =
  | { readonly key: string; readonly op: 'exists' | 'notexists' }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] };

export type Selector = readonly Requirement[];

const KEY = '[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?';
const VALUE = '([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?';
const EXISTS = new RegExp(String.raw`^(!?)\s*(${KEY})$`);
const EQUALS = new RegExp(String.raw`^(${KEY})\s*(==|=|!=)\s*(${VALUE})$`);
const SET = new RegExp(String.raw`^(${KEY})\s+(in|notin)\s*\(([^()]*)\)$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/** Splits at commas outside parentheses. */
const splitTopLevel = (text: string): string[] => {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
};

const parseRequirement = (raw: string): Requirement | string => {
  const text = raw.trim();
  const exists = EXISTS.exec(text);
  if (exists !== null) return { key: exists[2] ?? '', op: exists[1] === '!' ? 'notexists' : 'exists' };
  const eq = EQUALS.exec(text);
  if (eq !== null) {
    const key = eq[1] ?? '';
    const value = eq[4] ?? '';
    return { key, op: eq[3] === '!=' ? 'notin' : 'in', values: [value] };
  }
  const set = SET.exec(text);
  if (set !== null) {
    const values = (set[4] ?? '').split(',').map((v) => v.trim());
    const bad = values.find((v) => !VALUE_ONLY.test(v));
    if (bad !== undefined) return `invalid value "${bad}" in "${text}"`;
    return { key: set[1] ?? '', op: set[3] === 'notin' ? 'notin' : 'in', values };
  }
  return `cannot parse requirement "${text}"`;
};

/** Parses a selector string; the empty string selects everything. */
export const parseSelector = (
  text: string,
): Result<Selector, { reason: PlatformReason; message: string }> => {
  if (text.trim() === '') return { ok: true, value: [] };
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const r = parseRequirement(part);
    if (typeof r === 'string')
      return { ok: false, error: { reason: BadRequest, message: `labelSelector: ${r}` } };
    requirements.push(r);
  }
  return { ok: true, value: requirements };
};

export const matches = (selector: Selector, labels: Readonly<Record<string, string>>): boolean =>
  selector.every((r) => {
    const value = Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
    switch (r.op) {
      case 'exists':
        return value !== undefined;
      case 'notexists':
        return value === undefined;
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
    }
    return false;
  });

/**
 * The values `key` is pinned to (`key=v`, `key==v` or `key in (...)`), or undefined when the
 * selector does not pin it: the adapter needs the ScaledObject named, or the HPA would sum the
 * same metric of every object in the namespace.
 */
export const pinnedValues = (selector: Selector, key: string): readonly string[] | undefined => {
  let pinned: readonly string[] | undefined;
  for (const r of selector) {
    if (r.key !== key || r.op !== 'in') continue;
    pinned = pinned === undefined ? r.values : pinned.filter((v) => r.values.includes(v));
  }
  return pinned;
};
