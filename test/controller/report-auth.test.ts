// The report authenticator (src/controller/report-auth.ts) with a fake TokenReviewer and `now`
// as an argument: the bearer header, the allow-list, the audience, the caches (valid 2 min,
// refused 10 s, each bounded, made-up tokens never pushing out the activators'), one review per
// token at a time, and the bound on reviews in flight.
import { describe, expect, it } from 'vitest';
import {
  parseAllowedServiceAccounts,
  type ReportAuth,
  TokenReviewAuthenticator,
} from '../../src/controller/report-auth.ts';
import {
  ACTIVATOR,
  ACTIVATOR_TOKEN,
  AUDIENCE,
  FakeTokenReviewer,
  jws,
  OTHER_TOKEN,
  WRONG_AUDIENCE_TOKEN,
} from './report-fakes.ts';

const T0 = Date.UTC(2026, 0, 1);

const make = (over: Partial<ConstructorParameters<typeof TokenReviewAuthenticator>[0]> = {}) => {
  const reviewer = new FakeTokenReviewer();
  const auth = new TokenReviewAuthenticator({
    reviewer,
    audiences: [AUDIENCE],
    allowed: [ACTIVATOR],
    ...over,
  });
  return { reviewer, auth };
};

/** status reason, or `ok identity`. */
const verdict = (a: ReportAuth): string => (a.ok ? `ok ${a.identity}` : `${a.status} ${a.reason}`);

describe('the report authenticator', () => {
  it.each([
    { label: 'no header', header: undefined, want: '401 Unauthenticated', reviewed: false },
    { label: 'an empty header', header: '', want: '401 Unauthenticated', reviewed: false },
    { label: 'Basic credentials', header: 'Basic YTpi', want: '401 Unauthenticated', reviewed: false },
    { label: 'a bearer that is no JWS', header: 'Bearer abc', want: '401 Unauthenticated', reviewed: false },
    {
      label: 'a token over 16 KiB',
      header: `Bearer ${'a'.repeat(16 * 1024)}.b.c`,
      want: '401 Unauthenticated',
      reviewed: false,
    },
    {
      label: 'a token nobody issued',
      header: `Bearer ${jws('forged')}`,
      want: '401 Unauthenticated',
      reviewed: true,
    },
    {
      label: 'the wrong audience',
      header: `Bearer ${WRONG_AUDIENCE_TOKEN}`,
      want: '401 Unauthenticated',
      reviewed: true,
    },
    {
      label: 'a ServiceAccount not allowed',
      header: `Bearer ${OTHER_TOKEN}`,
      want: '403 ForbiddenReporter',
      reviewed: true,
    },
    {
      label: "the activator's token",
      header: `Bearer ${ACTIVATOR_TOKEN}`,
      want: `ok ${ACTIVATOR}`,
      reviewed: true,
    },
    {
      label: 'the scheme in any case',
      header: `bEaReR ${ACTIVATOR_TOKEN}`,
      want: `ok ${ACTIVATOR}`,
      reviewed: true,
    },
  ])('$label → $want', async ({ header, want, reviewed }) => {
    const { reviewer, auth } = make();
    const got = await auth.authenticate(header, T0);
    expect(verdict(got)).toBe(want);
    expect(reviewer.reviews.length).toBe(reviewed ? 1 : 0);
    if (!got.ok) {
      expect(got.challenge).toMatch(/^Bearer realm="ebb-activator-reports"/);
      // The API server's reason is not told to the client beyond "not accepted".
      expect(got.message).not.toContain('audiences');
    }
  });

  it('asks the API server once per token: valid tokens for 2 min, refused ones for 10 s', async () => {
    const { reviewer, auth } = make();
    const forged = `Bearer ${jws('forged')}`;
    for (const t of [T0, T0 + 1_000, T0 + 119_000]) {
      expect(verdict(await auth.authenticate(`Bearer ${ACTIVATOR_TOKEN}`, t))).toBe(`ok ${ACTIVATOR}`);
      expect(verdict(await auth.authenticate(`Bearer ${OTHER_TOKEN}`, t))).toBe('403 ForbiddenReporter');
    }
    expect(reviewer.reviews).toEqual([ACTIVATOR_TOKEN, OTHER_TOKEN]);
    await auth.authenticate(`Bearer ${ACTIVATOR_TOKEN}`, T0 + 121_000);
    expect(reviewer.reviews).toEqual([ACTIVATOR_TOKEN, OTHER_TOKEN, ACTIVATOR_TOKEN]);

    await auth.authenticate(forged, T0);
    await auth.authenticate(forged, T0 + 9_000);
    expect(reviewer.reviews.filter((t) => t !== ACTIVATOR_TOKEN && t !== OTHER_TOKEN)).toHaveLength(1);
    await auth.authenticate(forged, T0 + 11_000);
    expect(reviewer.reviews.filter((t) => t !== ACTIVATOR_TOKEN && t !== OTHER_TOKEN)).toHaveLength(2);
  });

  it('an API server that does not answer is 503 and nothing is cached', async () => {
    const { reviewer, auth } = make();
    reviewer.down = 'connect ECONNREFUSED';
    const got = await auth.authenticate(`Bearer ${ACTIVATOR_TOKEN}`, T0);
    expect(got).toMatchObject({ ok: false, status: 503, reason: 'TokenReviewUnavailable' });
    expect(got.ok ? '' : got.message).toContain('ECONNREFUSED');
    reviewer.down = undefined;
    expect(verdict(await auth.authenticate(`Bearer ${ACTIVATOR_TOKEN}`, T0 + 1))).toBe(`ok ${ACTIVATOR}`);
    expect(auth.cached()).toEqual({ valid: 1, invalid: 0 });
  });

  it('concurrent requests with one token share one review; other tokens beyond the in-flight bound get 503', async () => {
    const { reviewer, auth } = make({ maxReviewsInFlight: 2 });
    let open = () => {};
    reviewer.gate = new Promise((resolve) => {
      open = resolve;
    });
    const same = [1, 2, 3].map(() => auth.authenticate(`Bearer ${ACTIVATOR_TOKEN}`, T0));
    const other = auth.authenticate(`Bearer ${OTHER_TOKEN}`, T0);
    const third = await auth.authenticate(`Bearer ${jws('third')}`, T0);
    expect(third).toMatchObject({ ok: false, status: 503, reason: 'TokenReviewUnavailable' });
    open();
    expect((await Promise.all(same)).map(verdict)).toEqual(Array(3).fill(`ok ${ACTIVATOR}`));
    expect(verdict(await other)).toBe('403 ForbiddenReporter');
    expect(reviewer.reviews).toEqual([ACTIVATOR_TOKEN, OTHER_TOKEN]);
    // The bound is on reviews in flight only: the next one goes through.
    reviewer.gate = undefined;
    expect(verdict(await auth.authenticate(`Bearer ${jws('third')}`, T0))).toBe('401 Unauthenticated');
  });

  it('made-up tokens fill only their own bounded cache: the activator stays cached', async () => {
    const { reviewer, auth } = make({ maxEntries: 4 });
    await auth.authenticate(`Bearer ${ACTIVATOR_TOKEN}`, T0);
    for (let i = 0; i < 50; i++) await auth.authenticate(`Bearer ${jws(`forged-${i}`)}`, T0);
    expect(auth.cached()).toEqual({ valid: 1, invalid: 4 });
    const before = reviewer.reviews.length;
    expect(verdict(await auth.authenticate(`Bearer ${ACTIVATOR_TOKEN}`, T0 + 1))).toBe(`ok ${ACTIVATOR}`);
    expect(reviewer.reviews.length).toBe(before);
  });

  it("without audiences asks for the API server's own", async () => {
    const { auth } = make({ audiences: [] });
    expect(verdict(await auth.authenticate(`Bearer ${WRONG_AUDIENCE_TOKEN}`, T0))).toBe(`ok ${ACTIVATOR}`);
  });
});

describe('--report-allowed-service-accounts', () => {
  it.each([
    { entries: ['ebb-system:ebb-activator'], want: ['system:serviceaccount:ebb-system:ebb-activator'] },
    {
      entries: ['a:x, b:y.z', 'a:x'],
      want: ['system:serviceaccount:a:x', 'system:serviceaccount:b:y.z'],
    },
    { entries: [''], want: [] },
  ])('$entries → $want', ({ entries, want }) => {
    expect(parseAllowedServiceAccounts(entries)).toEqual({ ok: true, value: want });
  });

  it.each(['ebb-activator', 'a:b:c', 'Ebb:x', ':x', 'a:', `${'n'.repeat(64)}:x`, 'a:x_y'])(
    'refuses %j, naming it and the rule',
    (entry) => {
      const got = parseAllowedServiceAccounts([entry]);
      expect(got).toEqual({
        ok: false,
        error: expect.stringContaining(`${JSON.stringify(entry)} must be namespace:name`),
      });
    },
  );
});
