// TLS key-exchange groups (TLS_GROUPS): the list every TLS endpoint offers (the inbound listener, the mTLS client to
// peers, the https upstream client), resolved against the runtime's OpenSSL at start-up (docs/runtime.md, "TLS
// groups"). Node takes the list as the `ecdhCurve` option (names separated by ':', handed to OpenSSL's
// SSL_CTX_set1_groups_list), and refuses a list with a name its OpenSSL lacks ("Failed to set ECDH curve"):
// OpenSSL 3.0 (Node 20, 22) has no ML-KEM; 3.5 (Node 24) adds the hybrid X25519MLKEM768. So each group is
// tried alone: the default keeps what the runtime has, a configured list must be usable in full.
import { createSecureContext } from 'node:tls';

/** A group the gateway names: its IANA code point, the label metrics use, the other names OpenSSL takes for it. */
interface GroupInfo {
  /** IANA "TLS Supported Groups" registry (https://www.iana.org/assignments/tls-parameters, tls-parameters-8). */
  readonly id: number;
  /** The label in switchguard_tls_handshakes_total{group} and the name in messages. */
  readonly name: string;
  /** Other spellings OpenSSL accepts or reports (compared case-insensitively). */
  readonly aliases?: readonly string[];
  /** Resists a quantum computer: ML-KEM (FIPS 203), alone or in a hybrid with a classic group. */
  readonly postQuantum?: true;
}

// Code points from the IANA registry (ML-KEM: draft-ietf-tls-ecdhe-mlkem and draft-connolly-tls-mlkem-key-agreement,
// registered there). Names as OpenSSL 3.5 spells them (ssl/t1_lib.c group table); P-256/P-384/P-521 are the aliases
// OpenSSL takes besides the SEC names it reports (getEphemeralKeyInfo gives 'prime256v1', 'secp384r1').
const GROUPS: readonly GroupInfo[] = [
  { id: 0x11ec, name: 'X25519MLKEM768', postQuantum: true },
  { id: 0x11eb, name: 'SecP256r1MLKEM768', postQuantum: true },
  { id: 0x11ed, name: 'SecP384r1MLKEM1024', postQuantum: true },
  { id: 0x0200, name: 'MLKEM512', postQuantum: true },
  { id: 0x0201, name: 'MLKEM768', postQuantum: true },
  { id: 0x0202, name: 'MLKEM1024', postQuantum: true },
  { id: 29, name: 'X25519' },
  { id: 30, name: 'X448' },
  { id: 23, name: 'P-256', aliases: ['secp256r1', 'prime256v1'] },
  { id: 24, name: 'P-384', aliases: ['secp384r1'] },
  { id: 25, name: 'P-521', aliases: ['secp521r1'] },
  { id: 26, name: 'brainpoolP256r1' },
  { id: 27, name: 'brainpoolP384r1' },
  { id: 28, name: 'brainpoolP512r1' },
  { id: 31, name: 'brainpoolP256r1tls13' },
  { id: 32, name: 'brainpoolP384r1tls13' },
  { id: 33, name: 'brainpoolP512r1tls13' },
  { id: 256, name: 'ffdhe2048' },
  { id: 257, name: 'ffdhe3072' },
  { id: 258, name: 'ffdhe4096' },
  { id: 259, name: 'ffdhe6144' },
  { id: 260, name: 'ffdhe8192' },
];

/** The post-quantum hybrid of the default: X25519 with ML-KEM-768 (draft-ietf-tls-ecdhe-mlkem). */
export const HYBRID = 'X25519MLKEM768';
/** The default: the post-quantum hybrid first (where the runtime has it), then the classic groups. */
export const DEFAULT_TLS_GROUPS: readonly string[] = [HYBRID, 'X25519', 'P-256', 'P-384'];

/** Every group name of the table (metric labels besides other, none, unknown). */
export const TLS_GROUP_NAMES: readonly string[] = GROUPS.map((g) => g.name);

const byId = new Map(GROUPS.map((g) => [g.id, g]));
const byName = new Map(GROUPS.flatMap((g) => [g.name, ...(g.aliases ?? [])].map((n) => [n.toLowerCase(), g] as const)));

/** The group a name means (any spelling in the table), or undefined for a name outside it. */
export const groupNamed = (name: string): GroupInfo | undefined => byName.get(name.toLowerCase());
/** The group of an IANA code point, or undefined outside the table. */
export const groupOfId = (id: number): GroupInfo | undefined => byId.get(id);

const probed = new Map<string, boolean>();
/** Whether this runtime's OpenSSL takes `names` (one name, or a ':' list) as the groups of a TLS context. */
export function runtimeSupportsGroups(names: string): boolean {
  let ok = probed.get(names);
  if (ok === undefined) {
    try {
      createSecureContext({ ecdhCurve: names });
      ok = true;
    } catch {
      ok = false; // ERR_CRYPTO_OPERATION_FAILED "Failed to set ECDH curve"
    }
    probed.set(names, ok);
  }
  return ok;
}

/** TLS_GROUPS resolved for this runtime (Config.tlsGroups). */
export interface TlsGroups {
  /** The groups in preference order, as written (the default's: those the runtime has). Never empty. */
  readonly names: readonly string[];
  /**
   * Node's `ecdhCurve` option on every TLS endpoint: `names` joined with ':', with OpenSSL 3.5's key-share marks
   * where the runtime takes them (keyShareList).
   */
  readonly ecdhCurve: string;
  /** TLS_GROUPS was set (else the default applies). */
  readonly configured: boolean;
  /** Groups of the default this runtime lacks, left out (empty when TLS_GROUPS is set). */
  readonly unavailable: readonly string[];
  /** The runtime has the default's post-quantum hybrid (X25519MLKEM768), whether or not the list names it. */
  readonly hybridAvailable: boolean;
  /** The runtime the list was resolved against. */
  readonly runtime: RuntimeVersions;
}

/** Node and OpenSSL versions, for messages (tests pass others). */
export interface RuntimeVersions {
  readonly node: string;
  readonly openssl: string;
}
const thisRuntime = (): RuntimeVersions => ({ node: process.version, openssl: process.versions.openssl ?? 'unknown' });

// A plain group name: OpenSSL 3.5's list syntax (`?` ignore-unknown, `*` key share, `/` tuples, `-` removal,
// DEFAULT) is not taken: OpenSSL 3.0 reads none of it, and a configured list must mean the same on every runtime.
const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

/**
 * Resolves TLS_GROUPS (unset: the default) against the runtime. The default silently leaves out what the runtime
 * lacks (X25519MLKEM768 before OpenSSL 3.5); a configured list must be usable in full, and the problem (one line,
 * without the variable name) names every group that is not.
 */
export function resolveTlsGroups(
  value: string | undefined,
  runtime: { readonly supports: (names: string) => boolean; readonly versions: RuntimeVersions } = { supports: runtimeSupportsGroups, versions: thisRuntime() },
): { readonly groups: TlsGroups } | { readonly problem: string } {
  const where = `this runtime (Node ${runtime.versions.node}, OpenSSL ${runtime.versions.openssl})`;
  const facts = () => ({ hybridAvailable: runtime.supports(HYBRID), runtime: runtime.versions });
  if (value === undefined) {
    const names = DEFAULT_TLS_GROUPS.filter((g) => runtime.supports(g));
    if (names.length === 0) return { problem: `${where} supports none of the default groups ${DEFAULT_TLS_GROUPS.join(':')}; set TLS_GROUPS` };
    const unavailable = DEFAULT_TLS_GROUPS.filter((g) => !names.includes(g));
    return { groups: { names, ecdhCurve: keyShareList(names, runtime.supports), configured: false, unavailable, ...facts() } };
  }
  const names = value
    .split(/[:,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) return { problem: 'expected group names separated by ":", e.g. X25519MLKEM768:X25519:P-256:P-384' };
  const notNames = names.filter((n) => !NAME.test(n) || n.toLowerCase() === 'auto');
  if (notNames.length > 0)
    return {
      problem: `${notNames.map((n) => `'${n}'`).join(', ')} ${notNames.length > 1 ? 'are not group names' : 'is not a group name'} (plain names separated by ":", e.g. X25519MLKEM768:X25519:P-256:P-384; unset TLS_GROUPS for the default)`,
    };
  const seen = new Map<string, string>();
  for (const n of names) {
    const key = groupNamed(n)?.name ?? n.toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) return { problem: `${n} names the same group as ${first}; name each group once` };
    seen.set(key, n);
  }
  const missing = names.filter((n) => !runtime.supports(n));
  if (missing.length > 0) {
    const why = (n: string) => {
      const g = groupNamed(n);
      if (!g) return `${n} (not a group name this OpenSSL knows: misspelt?)`;
      return `${n} (${g.postQuantum ? 'ML-KEM needs OpenSSL 3.5 or later, as in Node 24' : 'not offered by this OpenSSL'})`;
    };
    return {
      problem: `${where} cannot use ${missing.map(why).join(', ')}; remove ${missing.length > 1 ? 'them' : 'it'}, or unset TLS_GROUPS for the default, which leaves out what the runtime lacks`,
    };
  }
  if (!runtime.supports(names.join(':'))) return { problem: `${where} refuses the list ${names.join(':')}, though it takes each group alone` };
  return { groups: { names, ecdhCurve: keyShareList(names, runtime.supports), configured: true, unavailable: [], ...facts() } };
}

/**
 * The list as Node's `ecdhCurve`. A TLS 1.3 client sends a key share for the first group of a plain list only, so a
 * list that starts with a post-quantum group costs a server that lacks it (an OpenSSL 3.0 peer, as in Node 20) a
 * HelloRetryRequest, one more round trip per new connection. OpenSSL 3.5 marks the groups to send key shares for
 * with '*' (SSL_CTX_set1_groups_list(3); its own default sends X25519MLKEM768 and X25519): such a list gets a share
 * for its first group and for its first classic group. A server chooses the same with or without the marks
 * (measured: docs/runtime.md). A runtime that does not take the marks (OpenSSL 3.0, which has no post-quantum group
 * anyway) gets the plain list.
 */
function keyShareList(names: readonly string[], supports: (names: string) => boolean): string {
  const plain = names.join(':');
  const classic = names.findIndex((n) => !groupNamed(n)?.postQuantum);
  if (!groupNamed(names[0]!)?.postQuantum || classic < 0) return plain;
  const marked = names.map((n, i) => (i === 0 || i === classic ? `*${n}` : n)).join(':');
  return supports(marked) ? marked : plain;
}

/**
 * The start-up line (src/main.ts banner): the groups in use and whether the post-quantum hybrid is among them.
 * @example describeTlsGroups(config.tlsGroups)
 * // 'TLS groups X25519:P-256:P-384 (default; post-quantum X25519MLKEM768 unavailable in this runtime, left out; Node v20.20.2, OpenSSL 3.0.19)'
 */
export function describeTlsGroups(g: TlsGroups): string {
  const pq = g.names.filter((n) => groupNamed(n)?.postQuantum);
  const lacking = g.unavailable.filter((n) => groupNamed(n)?.postQuantum);
  const state =
    pq.length > 0
      ? `post-quantum ${pq.join(', ')} in use`
      : lacking.length > 0
        ? `post-quantum ${lacking.join(', ')} unavailable in this runtime, left out`
        : `no post-quantum group in the list, ${HYBRID} ${g.hybridAvailable ? 'available' : 'unavailable'} in this runtime`;
  return `TLS groups ${g.names.join(':')} (${g.configured ? 'TLS_GROUPS' : 'default'}; ${state}; Node ${g.runtime.node}, OpenSSL ${g.runtime.openssl})`;
}
