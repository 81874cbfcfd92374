// Header matches of an http route (the trigger's `headers` key): besides host and path prefix, a
// route may require request headers, each by name and exact value (`x-tenant=acme`) or by
// presence alone (`x-canary`). All of a route's matches must hold (AND), as in a Gateway API
// HTTPRoute rule. Names are RFC 9110 §5.1 field names (tokens) compared case-insensitively, so
// they are kept in lower case; values are compared exactly, case-sensitively (Gateway API's
// `Exact`). Limits as Gateway API's HTTPHeaderMatch: 16 matches per route, names up to 256
// characters, values up to 4096.
//
// Precedence (Gateway API's HTTPRoute rule order: host, then path, then the largest number of
// header matches): of the routes whose host, path prefix and headers all match a request, the
// most specific host wins, then the longest path prefix, then the route with more header
// matches, then the route key that sorts first. Two routes with the same host, prefix and the
// same set of header matches conflict, as two with the same host and prefix always did.

/** One header a route requires: `value` undefined means present with any value. */
export interface HeaderMatch {
  /** Lower case. */
  readonly name: string;
  readonly value?: string;
}

export const MAX_HEADER_MATCHES = 16;
export const MAX_HEADER_NAME_LENGTH = 256;
export const MAX_HEADER_VALUE_LENGTH = 4096;

// RFC 9110 §5.6.2 tchar, lower case only (names are lowered before the test).
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
// RFC 9110 §5.5 field-content without obs-text: visible ASCII, inner spaces and tabs allowed
// (the list is split on commas, so a value cannot hold one).
const FIELD_VALUE = /^[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?$/;

/**
 * `x-tenant=acme` / `x-canary` → a HeaderMatch, or why not. The first `=` splits name and value;
 * spaces around either are dropped (the list items are trimmed already).
 */
export const parseHeaderMatch = (item: string): HeaderMatch | string => {
  const eq = item.indexOf('=');
  const name = (eq < 0 ? item : item.slice(0, eq)).trim().toLowerCase();
  if (name === '') return `"${item}" names no header (write "name=value" or "name")`;
  if (name.length > MAX_HEADER_NAME_LENGTH)
    return `header name "${name.slice(0, 40)}…" is longer than ${MAX_HEADER_NAME_LENGTH} characters`;
  if (!TOKEN.test(name))
    return `"${name}" is not a header name (an RFC 9110 token: letters, digits and !#$%&'*+-.^_\`|~)`;
  if (name === 'host') return 'cannot match "host": list the host in hosts';
  if (eq < 0) return { name };
  const value = item.slice(eq + 1).trim();
  if (value === '') return `header "${name}" has "=" but no value (write "${name}" to match any value)`;
  if (value.length > MAX_HEADER_VALUE_LENGTH)
    return `the value of header "${name}" is longer than ${MAX_HEADER_VALUE_LENGTH} characters`;
  if (!FIELD_VALUE.test(value))
    return `the value of header "${name}" must be visible ASCII (spaces and tabs only inside), got ${JSON.stringify(value)}`;
  return { name, value };
};

/** The matches of a `headers` list, sorted by name, or the problems found (each one line). */
export const parseHeaderMatches = (
  items: readonly string[],
):
  | { readonly ok: true; readonly matches: readonly HeaderMatch[] }
  | { readonly ok: false; readonly problems: string[] } => {
  const problems: string[] = [];
  if (items.length > MAX_HEADER_MATCHES)
    problems.push(`lists ${items.length} headers; at most ${MAX_HEADER_MATCHES} are allowed`);
  const matches: HeaderMatch[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const m = parseHeaderMatch(item);
    if (typeof m === 'string') problems.push(m);
    else if (seen.has(m.name)) problems.push(`lists header "${m.name}" more than once`);
    else {
      seen.add(m.name);
      matches.push(m);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, matches: matches.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
};

/** The one text a set of matches is compared and reported by: `x-a=1,x-b`, sorted by name; '' for none. */
export const headerMatchesText = (matches: readonly HeaderMatch[] | undefined): string => {
  if (matches === undefined || matches.length === 0) return '';
  const sorted = [...matches].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sorted.map((m) => (m.value === undefined ? m.name : `${m.name}=${m.value}`)).join(',');
};
