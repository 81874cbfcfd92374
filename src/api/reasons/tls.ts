// Why a certificate was not taken (src/activator/certificates.ts): each `export const` here is
// one member of `CertificateReason` (derived in src/api/reasons.ts), logged with the source's
// name (`namespace/name` of a Secret, or a file) and counted in
// ebb_activator_tls_certificate_errors_total{source, reason}. The previous certificate stays.
/** A Secret without `tls.crt` or `tls.key`, or one that is not `kubernetes.io/tls`. */
export const CertificateMissing = 'CertificateMissing' as const;
/** `tls.crt` is no PEM certificate, or `tls.key` no PEM private key. */
export const CertificateUnparseable = 'CertificateUnparseable' as const;
/** The private key is not the certificate's (RFC 5280 subjectPublicKeyInfo differs). */
export const CertificateKeyMismatch = 'CertificateKeyMismatch' as const;
/** The certificate's notAfter is past. */
export const CertificateExpired = 'CertificateExpired' as const;
/** The certificate's notBefore is still ahead. */
export const CertificateNotYetValid = 'CertificateNotYetValid' as const;
/** The Secret was deleted: the certificate last loaded from it is served on. */
export const CertificateSourceDeleted = 'CertificateSourceDeleted' as const;
