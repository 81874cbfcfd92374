// Which ScaledObject owns which scale target. Two ScaledObjects naming one target would fight
// over its replicas; the first one (by creationTimestamp, then name) keeps it and the later
// ones are refused with ScaleTargetInUse (KEDA's webhook refuses the second at admission).

export interface Claim {
  /** `namespace/name` of the ScaledObject. */
  readonly key: string;
  readonly targetKey: string;
  /** ms since epoch; NaN sorts last. */
  readonly createdAt: number;
  readonly name: string;
}

const before = (a: Claim, b: Claim): boolean => {
  const ca = Number.isFinite(a.createdAt) ? a.createdAt : Number.POSITIVE_INFINITY;
  const cb = Number.isFinite(b.createdAt) ? b.createdAt : Number.POSITIVE_INFINITY;
  if (ca !== cb) return ca < cb;
  return a.key < b.key;
};

export class TargetClaims {
  private readonly byObject = new Map<string, Claim>();
  private readonly byTarget = new Map<string, Map<string, Claim>>();

  /**
   * Records `claim` (replacing the object's previous one) and returns the keys whose
   * ownership may have changed: they must be reconciled again.
   */
  claim(claim: Claim): string[] {
    const previous = this.byObject.get(claim.key);
    if (
      previous !== undefined &&
      previous.targetKey === claim.targetKey &&
      previous.createdAt === claim.createdAt
    ) {
      return [];
    }
    const affected = previous === undefined ? [] : this.release(claim.key);
    const ownerBefore = this.owner(claim.targetKey);
    this.byObject.set(claim.key, claim);
    let claims = this.byTarget.get(claim.targetKey);
    if (claims === undefined) {
      claims = new Map();
      this.byTarget.set(claim.targetKey, claims);
    }
    claims.set(claim.key, claim);
    const ownerAfter = this.owner(claim.targetKey);
    if (ownerBefore !== undefined && ownerBefore.key !== ownerAfter?.key) affected.push(ownerBefore.key);
    return affected.filter((k) => k !== claim.key);
  }

  /** Forgets the object's claim; returns the key of the target's new owner, if it changed. */
  release(key: string): string[] {
    const claim = this.byObject.get(key);
    if (claim === undefined) return [];
    this.byObject.delete(key);
    const claims = this.byTarget.get(claim.targetKey);
    if (claims === undefined) return [];
    const wasOwner = this.owner(claim.targetKey)?.key === key;
    claims.delete(key);
    if (claims.size === 0) this.byTarget.delete(claim.targetKey);
    const next = wasOwner ? this.owner(claim.targetKey) : undefined;
    return next === undefined ? [] : [next.key];
  }

  owner(targetKey: string): Claim | undefined {
    const claims = this.byTarget.get(targetKey);
    if (claims === undefined) return undefined;
    let best: Claim | undefined;
    for (const c of claims.values()) if (best === undefined || before(c, best)) best = c;
    return best;
  }

  /** Number of objects claiming `targetKey`. */
  claimants(targetKey: string): number {
    return this.byTarget.get(targetKey)?.size ?? 0;
  }

  clear(): void {
    this.byObject.clear();
    this.byTarget.clear();
  }
}
