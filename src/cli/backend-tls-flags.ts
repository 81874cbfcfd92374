// --backend-ca-file and --backend-tls-insecure (`ebb activator`, `ebb local`): how the activator
// verifies endpoints whose port says https (src/activator/backend-tls.ts). Read once at start; a
// bad file stops the command before any port opens, naming the flag, the file and the reason.
import { readFile } from 'node:fs/promises';
import { type BackendTls, checkCaBundle } from '../activator/backend-tls.ts';

export const BACKEND_CA_FILE_HELP =
  "PEM CA bundle that certificates of https endpoints (Service port appProtocol https or kubernetes.io/wss) must chain to, in place of node's default CAs; they must name <service>.<namespace>.svc";
export const BACKEND_TLS_INSECURE_HELP =
  'do not verify the certificates of https endpoints (encrypted, not authenticated; off by default)';

/** The warning printed at start with --backend-tls-insecure. */
export const INSECURE_WARNING =
  'WARNING --backend-tls-insecure: certificates of https endpoints are NOT verified (any certificate for any name is accepted)';

/** The activator's backendTls from the two flags, or a message naming what is wrong. */
export const backendTlsFromFlags = async (
  caFile: string | undefined,
  insecure: boolean | undefined,
): Promise<BackendTls | string> => {
  if (caFile === undefined) return insecure === true ? { insecure: true } : {};
  if (insecure === true)
    return '--backend-ca-file and --backend-tls-insecure contradict each other: verify with the CA, or not at all';
  let pem: string;
  try {
    pem = await readFile(caFile, 'utf8');
  } catch (err) {
    return `--backend-ca-file ${caFile}: cannot read it: ${err instanceof Error ? err.message : String(err)}`;
  }
  const checked = checkCaBundle(pem, caFile);
  return 'problem' in checked ? `--backend-ca-file ${checked.problem}` : { ca: checked.ca };
};
