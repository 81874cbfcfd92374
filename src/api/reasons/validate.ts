// What `ebb validate` reports beyond admission's own reasons: each `export const` here is one
// member of `ValidateReason` (derived in src/api/reasons.ts). None of them lands in a condition.
/** A field the CRD schema does not declare: kubectl's strict field validation refuses it. */
export const UnknownField = 'UnknownField' as const;
/** A trigger metadata key its scaler does not read (a warning: KEDA ignores unknown keys). */
export const UnknownMetadataKey = 'UnknownMetadataKey' as const;
/** A cron window ebb and KEDA judge differently at some instant of the coming year (a warning). */
export const CronWindowDisagreement = 'CronWindowDisagreement' as const;
/** An authenticationRef naming no (Cluster)TriggerAuthentication in the files given. */
export const AuthenticationRefNotFound = 'AuthenticationRefNotFound' as const;
/** metadata.name or metadata.namespace the API server refuses (RFC 1123). */
export const InvalidName = 'InvalidName' as const;
/** A TriggerAuthentication source ebb does not resolve (hashiCorpVault, env, podIdentity aws, ...). */
export const UnsupportedAuthSource = 'UnsupportedAuthSource' as const;
/** A file or document that cannot be read: invalid YAML, a limit, a symlink loop. */
export const UnreadableManifest = 'UnreadableManifest' as const;
