import { createHash } from 'node:crypto';
import type { NetworkAllowance } from '../../network-allowances.js';

/**
 * Ranges no sandbox may reach by default: private (RFC 1918), carrier-grade NAT (RFC 6598) and link-local with the
 * cloud metadata address 169.254.169.254 (RFC 3927). Chosen one by one rather than "every reserved range": on some
 * machines package mirrors and the engine host itself sit in documentation ranges (192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24) and must stay reachable, while the engine host is blocked by its own rule whatever its address.
 */
export const BLOCKED_IPV4 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'];

/**
 * The parts of the filter that are named after the policy: sandboxes of servers with the same allowances share one
 * network (inter-container traffic is off on it, so sharing lets nothing through); other allowances get their own.
 */
export interface NetworkNames {
  network: string;
  /** Linux interface names are at most 15 characters. */
  bridge: string;
  /** iptables chains for traffic the sandboxes forward (to other hosts) and send to the engine host itself. */
  forwardChain: string;
  inputChain: string;
}

export function networkNames(allow: NetworkAllowance[]): NetworkNames {
  const key = allow
    .map((a) => `${a.target}:${a.port ?? '*'}`)
    .sort()
    .join(',');
  const h = createHash('sha256').update(`v1|${key}`).digest('hex').slice(0, 8);
  return {
    network: `sandbox-mcp-${h}`,
    bridge: `sbxmcp-${h}`,
    forwardChain: `SBXMCP-${h}-FWD`,
    inputChain: `SBXMCP-${h}-IN`,
  };
}

const portMatch = (port?: number) => (port === undefined ? '' : ` -p tcp --dport ${port}`);

/**
 * A shell script for the engine host that installs the filter; run again, it leaves the same rules (our chains are
 * rebuilt atomically by iptables-restore, the jumps to them are added once). It touches no chain but its own, bar
 * one jump each in DOCKER-USER (forwarded traffic; Docker leaves that chain to its users) and INPUT (traffic to the
 * host), both matching only our bridge. Resolvers the engine uses (the host's resolv.conf, systemd-resolved's upstream
 * list, daemon.json "dns") stay reachable on port 53 even in a blocked range: the engine's DNS forwards sandboxes'
 * queries to them from the sandbox's own network. IPv6: the network has none; any IPv6 from the bridge is dropped.
 */
export function filterScript(names: NetworkNames, allow: NetworkAllowance[]): string {
  const { forwardChain: F, inputChain: I, bridge } = names;
  const v4: string[] = [
    '*filter',
    `:${F} - [0:0]`,
    `:${I} - [0:0]`,
    `-A ${F} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    ...allow.filter((a) => a.target !== 'host').map((a) => `-A ${F} -d ${a.target}${portMatch(a.port)} -j RETURN`),
    '__RESOLVERS__',
    ...BLOCKED_IPV4.map((cidr) => `-A ${F} -d ${cidr} -j REJECT --reject-with icmp-admin-prohibited`),
    `-A ${I} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    ...allow.map((a) => `-A ${I}${a.target === 'host' ? '' : ` -d ${a.target}`}${portMatch(a.port)} -j RETURN`),
    `-A ${I} -p tcp -j REJECT --reject-with tcp-reset`,
    `-A ${I} -j REJECT --reject-with icmp-admin-prohibited`,
    'COMMIT',
  ];
  const [before, after] = v4.join('\n').split('__RESOLVERS__\n');
  const v6 = ['*filter', `:${F} - [0:0]`, `:${I} - [0:0]`, `-A ${F} -j DROP`, `-A ${I} -j DROP`, 'COMMIT'].join('\n');
  return [
    'set -eu',
    'command -v iptables-restore >/dev/null || { echo "iptables-restore is not installed on the engine host" >&2; exit 3; }',
    // Upstream resolvers, IPv4 only; loopback ones are the host's own stub (Docker then uses the upstream list).
    `resolvers=$( { awk '/^nameserver/{print $2}' /etc/resolv.conf /run/systemd/resolve/resolv.conf 2>/dev/null || true; cat /etc/docker/daemon.json 2>/dev/null | tr -d ' \\t\\r\\n' | sed -n 's/.*"dns":\\[\\([^]]*\\)\\].*/\\1/p' | tr -d '"' | tr ',' '\\n'; } | grep -E '^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$' | grep -v '^127\\.' | sort -u || true)`,
    '{',
    `cat <<'EOF'\n${before!.trimEnd()}\nEOF`,
    `for r in $resolvers; do printf -- '-A ${F} -d %s/32 -p udp --dport 53 -j RETURN\\n-A ${F} -d %s/32 -p tcp --dport 53 -j RETURN\\n' "$r" "$r"; done`,
    `cat <<'EOF'\n${after}\nEOF`,
    '} | iptables-restore -w --noflush',
    `iptables -w -C DOCKER-USER -i ${bridge} -j ${F} 2>/dev/null || iptables -w -I DOCKER-USER 1 -i ${bridge} -j ${F}`,
    `iptables -w -C INPUT -i ${bridge} -j ${I} 2>/dev/null || iptables -w -I INPUT 1 -i ${bridge} -j ${I}`,
    // Without IPv6 on the host there is nothing to filter: a failure here is reported, not fatal.
    'if command -v ip6tables-restore >/dev/null; then {',
    `  ip6tables-restore -w --noflush <<'EOF'\n${v6}\nEOF`,
    `  ip6tables -w -C FORWARD -i ${bridge} -j ${F} 2>/dev/null || ip6tables -w -I FORWARD 1 -i ${bridge} -j ${F}`,
    `  ip6tables -w -C INPUT -i ${bridge} -j ${I} 2>/dev/null || ip6tables -w -I INPUT 1 -i ${bridge} -j ${I}`,
    '} || echo "IPv6 filter not installed"; fi',
    'echo "resolvers allowed:" $resolvers',
  ].join('\n');
}

/** A script that prints the installed rules of our chains (for `doctor`-style checks and tests). */
export function showRulesScript(names: NetworkNames): string {
  return [
    `iptables -w -S ${names.forwardChain}`,
    `iptables -w -S ${names.inputChain}`,
    `iptables -w -S DOCKER-USER | grep -- '-j ${names.forwardChain}$' || true`,
    `iptables -w -S INPUT | grep -- '-j ${names.inputChain}$' || true`,
  ].join('; ');
}
