// The port through which the controller turns a trigger's authenticationRef into its auth
// parameters (TriggerContext.authParams). To be merged into ports.ts; the Kubernetes adapter is
// kubernetes/trigger-auth.ts, the pure rules are src/api/triggerauthentication.ts.

import type { Result } from '../api/reasons.ts';
import type { AuthenticationRef } from '../api/scaledobject.ts';
import type { AuthenticationFailure, AuthKind, AuthParams } from '../api/triggerauthentication.ts';

export type { AuthenticationFailure, AuthKind, AuthParams } from '../api/triggerauthentication.ts';

/**
 * A (Cluster)TriggerAuthentication, or a Secret it reads, changed. `namespace` is the
 * TriggerAuthentication's namespace, or '' for a ClusterTriggerAuthentication (whose users live
 * in any namespace); `kind` says the same explicitly. It must only enqueue.
 */
export type TriggerAuthChangeListener = (namespace: string, refName: string, kind: AuthKind) => void;

export interface TriggerAuthResolver {
  /**
   * The parameters `ref` gives a trigger of a ScaledObject in `namespace`, or an
   * `AuthenticationError` whose message names the (Cluster)TriggerAuthentication and the Secret
   * and key that are missing, never a value.
   */
  resolve(namespace: string, ref: AuthenticationRef): Promise<Result<AuthParams, AuthenticationFailure>>;
  /** Calls `listener` on every change that may change what `resolve` returns; returns the unsubscribe. */
  onChange(listener: TriggerAuthChangeListener): () => void;
}
