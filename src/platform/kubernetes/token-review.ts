// authentication.k8s.io/v1 TokenReview: the API server says whose a bearer token is (and for
// which of the requested audiences). The controller's RBAC needs `create tokenreviews`.
import { z } from 'zod';
import { ApiError, type PlatformResult, type TokenReviewer, type TokenReviewResult } from '../ports.ts';
import type { KubeClient } from './client.ts';

const TokenReviewSchema = z.object({
  status: z
    .object({
      authenticated: z.boolean().optional(),
      user: z.object({ username: z.string().optional() }).optional(),
      audiences: z.array(z.string()).optional(),
      error: z.string().optional(),
    })
    .optional(),
});

export class KubeTokenReviewer implements TokenReviewer {
  constructor(private readonly client: KubeClient) {}

  async review(token: string, audiences: readonly string[]): Promise<PlatformResult<TokenReviewResult>> {
    const res = await this.client.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(audiences.length === 0 ? {} : { audiences: [...audiences] }) },
      },
      timeoutMs: 5_000,
    });
    if (!res.ok) return res;
    const parsed = TokenReviewSchema.safeParse(res.value);
    const status = parsed.success ? parsed.data.status : undefined;
    if (status === undefined)
      return { ok: false, error: { reason: ApiError, message: 'TokenReview: the answer has no status' } };
    const username = status.user?.username;
    if (status.authenticated !== true || username === undefined || username === '') {
      return { ok: true, value: { authenticated: false, error: status.error ?? 'not authenticated' } };
    }
    return { ok: true, value: { authenticated: true, username, audiences: status.audiences ?? [] } };
  }
}
