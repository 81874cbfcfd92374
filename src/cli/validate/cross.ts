// Checks across the documents of one `ebb validate` run. A document without metadata.namespace
// is taken to be in the namespace `kubectl apply -f` would put it in, the same one for all of
// them (shown as "default").
//   - an authenticationRef whose (Cluster)TriggerAuthentication is not among the documents: a
//     warning (it may exist in the cluster already), an error with --strict;
//   - two ScaledObjects on one scale target: the later one is an error, as the controller refuses
//     it (ScaleTargetInUse, src/controller/target-claims.ts; KEDA's webhook refuses it too). The
//     controller keeps the older object; among files, the first one given.
import { AuthenticationRefNotFound, ScaleTargetInUse, type ValidateProblem } from '../../api/reasons.ts';
import { KIND } from '../../api/scaledobject.ts';
import {
  type AuthKind,
  CLUSTER_TRIGGER_AUTHENTICATION,
  describeAuth,
} from '../../api/triggerauthentication.ts';
import { describeTarget } from '../../controller/tracked.ts';
import { type TargetRef, targetKeyOf } from '../../platform/ports.ts';
import type { Finding } from './check.ts';

/** Where something is written. */
export interface Where {
  readonly file: string;
  readonly doc: number;
  readonly line: number;
  readonly col: number;
}

/** One checked object of an ebb kind, as the cross-document checks see it. */
export interface ObjectRecord {
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly where: Where;
  /** A ScaledObject's scaleTargetRef (defaults applied later), when it names one. */
  readonly target:
    | {
        readonly apiVersion: string | undefined;
        readonly kind: string | undefined;
        readonly name: string;
        readonly where: Where;
      }
    | undefined;
  readonly authRefs: readonly {
    readonly kind: string;
    readonly name: string;
    readonly path: string;
    readonly where: Where;
  }[];
}

const DEFAULT_NAMESPACE = 'default';

const finding = (where: Where, problem: ValidateProblem, severity: Finding['severity']): Finding => ({
  ...problem,
  ...where,
  severity,
});

export const crossDocumentProblems = (records: readonly ObjectRecord[]): Finding[] => {
  const out: Finding[] = [];
  const namespaceOf = (r: { namespace: string | undefined }) => r.namespace ?? DEFAULT_NAMESPACE;
  const auths = new Set(
    records
      .filter((r) => r.kind !== KIND && r.name !== undefined)
      .map((r) =>
        r.kind === CLUSTER_TRIGGER_AUTHENTICATION
          ? `${r.kind}//${r.name}`
          : `${r.kind}/${namespaceOf(r)}/${r.name}`,
      ),
  );
  const owners = new Map<string, ObjectRecord>();
  for (const r of records) {
    if (r.kind !== KIND) continue;
    const namespace = namespaceOf(r);
    for (const ref of r.authRefs) {
      const key =
        ref.kind === CLUSTER_TRIGGER_AUTHENTICATION
          ? `${ref.kind}//${ref.name}`
          : `${ref.kind}/${namespace}/${ref.name}`;
      if (auths.has(key)) continue;
      const subject = describeAuth(ref.kind as AuthKind, namespace, ref.name);
      out.push(
        finding(
          ref.where,
          {
            path: ref.path,
            reason: AuthenticationRefNotFound,
            message: `${subject} is not in the files given; it may exist in the cluster already (ebb resolves it there), else the trigger fails with AuthenticationError`,
          },
          'warning',
        ),
      );
    }
    if (r.target === undefined) continue;
    const target: TargetRef = {
      apiVersion: r.target.apiVersion ?? 'apps/v1',
      kind: r.target.kind ?? 'Deployment',
      name: r.target.name,
      namespace,
    };
    const key = targetKeyOf(target);
    const owner = owners.get(key);
    if (owner === undefined) {
      owners.set(key, r);
      continue;
    }
    out.push(
      finding(
        r.target.where,
        {
          path: 'spec.scaleTargetRef',
          reason: ScaleTargetInUse,
          message: `${describeTarget(target)} is already scaled by ScaledObject ${namespaceOf(owner)}/${owner.name ?? ''} (${owner.where.file}:${owner.where.line}); the controller refuses this one (ScaleTargetInUse)`,
        },
        'error',
      ),
    );
  }
  return out;
};
