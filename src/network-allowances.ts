/** A destination sandboxes may reach although the policy blocks its range: the engine host, or a CIDR, on a TCP port. */
export interface NetworkAllowance {
  /** 'host': the machine running the engine (any of its addresses); else an IPv4 CIDR. */
  target: 'host' | string;
  /** TCP port; undefined: every port (CIDRs only). */
  port?: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** Parses SANDBOX_NETWORK_ALLOW: comma-separated `host:PORT`, `IP[/BITS]:PORT` or `IP[/BITS]` (every port). */
export function parseAllowances(raw: string): NetworkAllowance[] {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return entries.map((entry) => {
    const m = /^(host|[0-9.]+(?:\/\d{1,2})?)(?::(\d{1,5}))?$/.exec(entry);
    const port = m?.[2] === undefined ? undefined : Number(m[2]);
    const [ip, bits] = (m?.[1] ?? '').split('/');
    const valid =
      m &&
      (port === undefined || (port >= 1 && port <= 65535)) &&
      (m[1] === 'host' ? port !== undefined : IPV4.test(ip!) && (bits === undefined || Number(bits) <= 32));
    if (!valid) throw new Error(`"${entry}" is not host:PORT, IP:PORT, IP/BITS:PORT or IP/BITS`);
    return m![1] === 'host' ? { target: 'host', port } : { target: bits === undefined ? `${ip}/32` : m![1]!, port };
  });
}
