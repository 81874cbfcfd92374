// Admission of a TriggerAuthentication or ClusterTriggerAuthentication, offline: its structure
// (the zod schema the CRD is generated from), its apiVersion, and every source ebb cannot resolve,
// named at its field. The controller finds the same sources when it resolves an
// authenticationRef (planTriggerAuth); `ebb validate` finds them before anything is applied.
import { apiVersionProblems, problemsFromZod } from './parse.ts';
import type { ValidateProblem } from './reasons.ts';
import {
  type AuthKind,
  CLUSTER_TRIGGER_AUTHENTICATION,
  ClusterTriggerAuthenticationSchema,
  TriggerAuthenticationSchema,
  unsupportedSourceProblems,
} from './triggerauthentication.ts';

/** Every problem of one raw (Cluster)TriggerAuthentication; [] when ebb can resolve it. */
export const admitTriggerAuthentication = (kind: AuthKind, raw: unknown): ValidateProblem[] => {
  const schema =
    kind === CLUSTER_TRIGGER_AUTHENTICATION
      ? ClusterTriggerAuthenticationSchema
      : TriggerAuthenticationSchema;
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success) return problemsFromZod(parsed.error);
  return [...apiVersionProblems(parsed.data.apiVersion), ...unsupportedSourceProblems(parsed.data.spec)];
};
