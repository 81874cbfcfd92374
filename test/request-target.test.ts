// The request-target of ebb's small servers (src/request-target.ts): origin-form split without
// parsing, absolute-form accepted (RFC 9112 §3.2.2), everything else an error value, never a throw.
import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from '../src/request-target.ts';

describe('parseRequestTarget', () => {
  it.each([
    { target: '/readyz?verbose', path: '/readyz', query: 'verbose=' },
    { target: '/a?b=1?c', path: '/a', query: 'b=1%3Fc' },
    { target: '//[', path: '//[', query: '' },
    { target: '/%zz', path: '/%zz', query: '' },
    { target: undefined, path: '/', query: '' },
    { target: 'http://ebb.test/metrics?x=1', path: '/metrics', query: 'x=1' },
    { target: 'HTTPS://ebb.test', path: '/', query: '' },
  ])('$target → $path', ({ target, path, query }) => {
    const got = parseRequestTarget(target);
    if (!got.ok) throw new Error(got.message);
    expect(got.path).toBe(path);
    expect(got.query.toString()).toBe(query);
  });

  it.each(['http://[', 'http://x:99999/', '*', 'ebb.test/metrics', ''])(
    '%j is an error naming it',
    (target) => {
      const got = parseRequestTarget(target);
      expect(got).toEqual({
        ok: false,
        message: expect.stringContaining(`request-target ${JSON.stringify(target)}`),
      });
    },
  );
});
