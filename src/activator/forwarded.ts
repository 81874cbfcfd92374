// Which peers may tell the activator what the original request looked like
// (`--trusted-proxies`): X-Forwarded-Proto, X-Forwarded-Host and RFC 7239 Forwarded from a peer
// whose address is in one of these CIDRs are forwarded as they came; from anyone else they are
// replaced by the activator's own (headers.ts). Like nginx's `set_real_ip_from`: trust is a
// property of the connecting address, never of the request.
//
// Default: nobody. The activator's Service is reachable from every pod in the cluster (and from
// outside with a LoadBalancer), so a client that reaches it directly could otherwise claim
// `X-Forwarded-Proto: https` (backends skip their HTTPS redirect, mark cookies secure) or an
// `X-Forwarded-Host` of its choosing (links and password-reset mails pointing at its host).
// Behind an ingress, list the ingress controller's pod CIDR(s). A hop count (Envoy's
// `xff_num_trusted_hops`) is not offered: it trusts whoever connects first, ingress or not.
//
// Cost: nothing unless a request carries one of those headers; then one BlockList check,
// skipped while the same peer address repeats (an ingress's keep-alive connections).
import { BlockList, isIP } from 'node:net';

/** `10.0.0.0/8`, `fd00::/8` or one address (`10.1.2.3` = /32, `::1` = /128). */
export const parseCidr = (
  entry: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | { problem: string } => {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return { problem: `${JSON.stringify(entry)} is not an IP address or CIDR` };
  const max = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : entry.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max)
    return { problem: `${JSON.stringify(entry)}: the prefix length must be 0-${max}` };
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
};

/** Parses a comma-separated `--trusted-proxies` value; the error names the entry. */
export const parseTrustedProxies = (text: string): string[] | { problem: string } => {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const e of entries) {
    const parsed = parseCidr(e);
    if ('problem' in parsed) return parsed;
  }
  return entries;
};

export class ProxyTrust {
  private readonly list: BlockList | undefined;
  private lastAddress = '';
  private lastTrusted = false;

  /** Throws naming the first entry that is not an address or CIDR. */
  constructor(readonly cidrs: readonly string[]) {
    if (cidrs.length === 0) return;
    const list = new BlockList();
    for (const entry of cidrs) {
      const parsed = parseCidr(entry);
      if ('problem' in parsed) throw new Error(`trustedProxies: ${parsed.problem}`);
      list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    this.list = list;
  }

  /** Whether a peer at `address` (as the socket reports it; IPv4-mapped IPv6 matches IPv4 CIDRs). */
  trusts(address: string | undefined): boolean {
    if (this.list === undefined || address === undefined) return false;
    if (address === this.lastAddress) return this.lastTrusted;
    const trusted = this.list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
    this.lastAddress = address;
    this.lastTrusted = trusted;
    return trusted;
  }
}
