// Path normalisation of the request target: the routing table matches, and the endpoint
// receives, the same normalised path, so a path cannot match one route and mean another
// (`/api/../admin` and `/api/%2e%2e/admin` are `/admin`, not `/api`). The policy is Envoy's
// `normalize_path` + `merge_slashes` with `path_with_escaped_slashes_action: KEEP_UNCHANGED`
// (Istio's `MERGE_SLASHES`), and nginx's `merge_slashes on`:
//   1. A percent-encoded unreserved character is decoded (RFC 3986 §6.2.2.2: `%41` → `A`,
//      `%2e` → `.`); any other percent-encoding is kept with upper-case hex (§6.2.2.1:
//      `%2f` → `%2F`); a `%` without two hex digits after it is refused.
//   2. `%2F` and `%5C` stay encoded: they are data inside a segment, never separators (Envoy's
//      default; APIs such as `/projects/group%2Fname` depend on it).
//   3. Runs of `/` are one `/`, before dot-segments are resolved: `/a//../b` is `/b` (nginx).
//   4. `.` and `..` segments are resolved (RFC 3986 §5.2.4); a `..` above the root is refused
//      (nginx answers 400 too; Envoy would clamp it to `/`).
//   5. A raw `\` is refused: it is no URI character (RFC 3986 §2) and some servers read it as `/`.
//      A `#` is refused anywhere: a request target has no fragment (RFC 9112 §3.2).
// The query (from the first `?`) is forwarded untouched.
//
// Cost: a path with no `%`, `\`, `#`, `//` and no `.`/`..` segment (`/.well-known` is none) is
// one scan and returned as it came, the same string: no allocation for the common case.
import { InvalidPath, InvalidRequestTarget } from '../api/reasons.ts';
import type { Refusal } from './request-target.ts';

const SLASH = 0x2f;
const DOT = 0x2e;
const QUESTION = 0x3f;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const HASH = 0x23;

/** `.` or `..` starts at `i` and runs to a `/`, `?` or the end. */
const isDotSegment = (s: string, i: number): boolean => {
  let j = i + 1;
  if (s.charCodeAt(j) === DOT) j++;
  return j === s.length || s.charCodeAt(j) === SLASH || s.charCodeAt(j) === QUESTION;
};

/**
 * The normalised origin-form target (path + query) of `target`, which starts with `/`; the same
 * string when it is already normal; a Refusal naming the problem when it cannot be normalised.
 */
export const normalizeTarget = (target: string): string | Refusal => {
  const n = target.length;
  let i = 0;
  for (; i < n; i++) {
    const c = target.charCodeAt(i);
    if (c === QUESTION) break;
    if (c === PERCENT || c === BACKSLASH || c === HASH) return rebuild(target);
    if (c === SLASH && i + 1 < n) {
      const next = target.charCodeAt(i + 1);
      if (next === SLASH || (next === DOT && isDotSegment(target, i + 1))) return rebuild(target);
    }
  }
  return i < n && target.indexOf('#', i) >= 0 ? fragment(target) : target;
};

const fragment = (target: string): Refusal => ({
  status: 400,
  reason: InvalidRequestTarget,
  message: `request target ${quote(target)} has a fragment (#); a request target has none (RFC 9112 §3.2)`,
});

const pathRefusal = (target: string, why: string): Refusal => ({
  status: 400,
  reason: InvalidPath,
  message: `path ${quote(target)} ${why}`,
});

/** A client's text in a one-line message: quoted, escaped, at most 100 characters. */
export const quote = (s: string): string => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
};

/** ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3). */
const isUnreserved = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x30 && c <= 0x39) ||
  c === 0x2d ||
  c === DOT ||
  c === 0x5f ||
  c === 0x7e;

const HEX = '0123456789ABCDEF';

/** The slow path: decode, split into segments, merge slashes, resolve dot-segments. */
const rebuild = (target: string): string | Refusal => {
  const q = target.indexOf('?');
  const pathEnd = q < 0 ? target.length : q;
  if (q >= 0 && target.indexOf('#', q) >= 0) return fragment(target);
  const kept: string[] = [];
  /** The path ends in `/` (its last segment was empty, `.` or `..`). */
  let trailingSlash = false;
  let segment = '';
  // Ends the segment collected so far; `last`: it is the path's final segment.
  const close = (last: boolean): Refusal | undefined => {
    if (segment === '..') {
      if (kept.length === 0) return pathRefusal(target, 'climbs above the root with ..');
      kept.pop();
      trailingSlash = last;
    } else if (segment === '' || segment === '.') trailingSlash = last;
    else {
      kept.push(segment);
      trailingSlash = false;
    }
    segment = '';
    return undefined;
  };
  for (let i = 1; i < pathEnd; i++) {
    const c = target.charCodeAt(i);
    if (c === SLASH) {
      const refused = close(false);
      if (refused !== undefined) return refused;
    } else if (c === PERCENT) {
      const hi = i + 2 < pathEnd ? hexValue(target.charCodeAt(i + 1)) : -1;
      const lo = hi < 0 ? -1 : hexValue(target.charCodeAt(i + 2));
      if (lo < 0) return pathRefusal(target, `has a % without two hex digits at offset ${i}`);
      const byte = hi * 16 + lo;
      segment += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
      i += 2;
    } else if (c === BACKSLASH)
      return pathRefusal(target, 'has a \\ (not a URI character; encode it as %5C)');
    else if (c === HASH) return fragment(target);
    else segment += target[i];
  }
  const refused = close(true);
  if (refused !== undefined) return refused;
  const path = kept.length === 0 ? '/' : `/${kept.join('/')}${trailingSlash ? '/' : ''}`;
  return q < 0 ? path : path + target.slice(q);
};
