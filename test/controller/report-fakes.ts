// A TokenReviewer that answers like the API server, from a table of tokens, and the report
// receiver started with it, for the receiver's unit tests (test/integration/report-auth.test.ts
// asks a real kube-apiserver).
import type { ReportRefusal } from '../../src/api/reasons.ts';
import { ActivationFeed } from '../../src/controller/activation-feed.ts';
import { type ActivatorReports, startActivatorReports } from '../../src/controller/activator-reports.ts';
import { TokenReviewAuthenticator } from '../../src/controller/report-auth.ts';
import { silentLogger } from '../../src/logging.ts';
import type { PlatformResult, TokenReviewer, TokenReviewResult } from '../../src/platform/ports.ts';

/** A token of the JWS shape (three base64url parts), as every ServiceAccount token has. */
export const jws = (who: string): string =>
  `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from(who).toString('base64url')}.c2ln`;

export const AUDIENCE = 'ebb-test-reports';
export const ACTIVATOR = 'system:serviceaccount:ebb:activator';
export const ACTIVATOR_TOKEN = jws('activator');
export const OTHER_TOKEN = jws('other');
export const WRONG_AUDIENCE_TOKEN = jws('wrong-audience');
export const EXPIRED_TOKEN = jws('expired');

interface Known {
  readonly username: string;
  readonly audiences: readonly string[];
}

export class FakeTokenReviewer implements TokenReviewer {
  /** Every token reviewed, in order. */
  readonly reviews: string[] = [];
  /** While set, every review fails as an unreachable API server does. */
  down: string | undefined;
  /** While set, reviews wait for it. */
  gate: Promise<void> | undefined;
  private readonly known = new Map<string, Known>([
    [ACTIVATOR_TOKEN, { username: ACTIVATOR, audiences: [AUDIENCE] }],
    [OTHER_TOKEN, { username: 'system:serviceaccount:ebb:other', audiences: [AUDIENCE] }],
    [WRONG_AUDIENCE_TOKEN, { username: ACTIVATOR, audiences: ['https://kubernetes.default.svc'] }],
  ]);

  async review(token: string, audiences: readonly string[]): Promise<PlatformResult<TokenReviewResult>> {
    this.reviews.push(token);
    await this.gate;
    if (this.down !== undefined)
      return { ok: false, error: { reason: 'Unreachable', message: this.down, status: 0 } };
    const k = this.known.get(token);
    if (k === undefined) return { ok: true, value: { authenticated: false, error: 'invalid bearer token' } };
    const valid = audiences.filter((a) => k.audiences.includes(a));
    if (audiences.length > 0 && valid.length === 0) {
      return {
        ok: true,
        value: { authenticated: false, error: `token audiences ${JSON.stringify(k.audiences)} is invalid` },
      };
    }
    return { ok: true, value: { authenticated: true, username: k.username, audiences: valid } };
  }
}

export interface TestReceiver {
  readonly url: string;
  readonly port: number;
  readonly feed: ActivationFeed;
  readonly reviewer: FakeTokenReviewer;
  /** Refusal reasons the observer was told, in order. */
  readonly refused: ReportRefusal[];
  /** ScaledObject keys the controller was asked to poll. */
  readonly pokes: string[];
  /** Whether the controller leads (pokes poll) or stands by (pokes are only recorded). */
  leading: boolean;
  /** The http routes the controller's cache has; undefined: it cannot tell (a standby). */
  routes: Set<string> | undefined;
}

const receivers: ActivatorReports[] = [];

/** Closes every receiver started so far (call it in afterEach). */
export const closeTestReceivers = async (): Promise<void> => {
  for (const r of receivers.splice(0)) await r.close();
};

/** The receiver on 127.0.0.1, leading, with a fake TokenReviewer that allows ACTIVATOR_TOKEN. */
export const startTestReceiver = async (opts: {
  readonly now: () => number;
  readonly routes: readonly string[];
  readonly maxActivators?: number;
}): Promise<TestReceiver> => {
  const r = {
    leading: true,
    routes: new Set(opts.routes) as Set<string> | undefined,
    refused: [] as ReportRefusal[],
    pokes: [] as string[],
    reviewer: new FakeTokenReviewer(),
    feed: new ActivationFeed({ now: opts.now }),
  };
  const reports = await startActivatorReports({
    feed: r.feed,
    controller: () => (r.leading ? { poke: (key: string) => void r.pokes.push(key) } : undefined),
    authenticator: new TokenReviewAuthenticator({
      reviewer: r.reviewer,
      audiences: [AUDIENCE],
      allowed: [ACTIVATOR],
    }),
    routeExists: (route) => r.routes?.has(route),
    observer: { reportRefused: (reason) => void r.refused.push(reason) },
    ...(opts.maxActivators === undefined ? {} : { maxActivators: opts.maxActivators }),
    log: silentLogger,
    now: opts.now,
    port: 0,
    address: '127.0.0.1',
  });
  receivers.push(reports);
  return Object.assign(r, { url: reports.url, port: reports.port });
};
