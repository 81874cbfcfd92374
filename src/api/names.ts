// Object names as the API server checks them (k8s.io/apimachinery/pkg/util/validation): a
// custom resource's metadata.name is a DNS subdomain (RFC 1123), its namespace a DNS label.
import { InvalidName, type ValidateProblem } from './reasons.ts';

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN_RE = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const LABEL_RE = new RegExp(`^${LABEL}$`);

/** A DNS-1123 label (a namespace, a Service): at most 63 characters. */
export const isDnsLabel = (text: string): boolean => text.length <= 63 && LABEL_RE.test(text);

/** A DNS-1123 subdomain (most object names): at most 253 characters. */
export const isDnsSubdomain = (text: string): boolean => text.length <= 253 && SUBDOMAIN_RE.test(text);

/** The API server's wording, so a user finds the same sentence in both places. */
const SUBDOMAIN_RULE = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${LABEL}(\\.${LABEL})*')`;
const LABEL_RULE = `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name', regex used for validation is '${LABEL}')`;

const invalid = (path: string, value: string, why: string): ValidateProblem => ({
  path,
  reason: InvalidName,
  message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
});

/** Problems with metadata.name (a DNS-1123 subdomain, <= 253) and metadata.namespace (a label, <= 63). */
export const nameProblems = (name: unknown, namespace: unknown): ValidateProblem[] => {
  const out: ValidateProblem[] = [];
  if (typeof name === 'string' && name !== '') {
    if (name.length > 253) out.push(invalid('metadata.name', name, 'must be no more than 253 characters'));
    else if (!SUBDOMAIN_RE.test(name)) out.push(invalid('metadata.name', name, SUBDOMAIN_RULE));
  }
  if (typeof namespace === 'string' && namespace !== '') {
    if (namespace.length > 63)
      out.push(invalid('metadata.namespace', namespace, 'must be no more than 63 characters'));
    else if (!LABEL_RE.test(namespace)) out.push(invalid('metadata.namespace', namespace, LABEL_RULE));
  }
  return out;
};
