// Start-up warnings for configurations that run, but less safely than their names suggest: a check turned off in
// the production profile, or a setting that has no effect because the one it needs is off (hostile review of
// 2026-12-01: such settings were ignored without a word). Printed by the primary with the SDK-name warnings.
import type { Config } from './schema.js';

/** One line per setting that weakens the gateway or has no effect; empty for a configuration without either. */
export function safetyWarnings(c: Config): string[] {
  const out: string[] = [];
  const production = c.profile === 'production';
  if (production && !c.inboundMtls)
    out.push('INBOUND_MUTUAL_TLS_ENABLED=false: inbound peers present no client certificate; FSPIOP-Source is then bound by nothing but JWS');
  if (production && c.jwsVerify === undefined) out.push('VALIDATE_INBOUND_JWS=false: inbound signatures are not verified');
  if (production && !c.ilpCheck) out.push('ILP_CHECK=false: no ILP condition or fulfilment is checked');
  if (c.ocspResponderUrl !== undefined && c.ocsp === undefined) out.push('OCSP_RESPONDER_URL is set but OCSP_POLICY=off (and no stapling): it is not used');
  if (c.crlPath !== undefined && !c.inboundMtls) out.push('IN_CRL_PATH is set but INBOUND_MUTUAL_TLS_ENABLED=false: it is not used');
  // Traffic to peers: in clear, or trusting every public CA (a peer directory's own http:// entries are per peer).
  if (production && c.peerEndpoint?.startsWith('http://'))
    out.push('PEER_ENDPOINT is http://: requests to peers go in clear, signed but readable and without the server proved');
  if (production && (c.peerEndpoint?.startsWith('https://') || c.peersPath !== undefined) && c.outCaCertPath === undefined)
    out.push("OUT_CA_CERT_PATH is unset: peers' server certificates are checked against the public CA store, not the scheme's CA");
  // STATE_HMAC_KEY (src/config/schema.ts): without it, any client of the shared store can lift a quarantine or raise a limit.
  if (production && c.storeKind === 'redis' && c.stateHmacKey === undefined)
    out.push(
      'STATE_HMAC_KEY is unset with the Redis store: the shared quarantine list and limit overrides are not sealed, so any client of the store can change them',
    );
  if (c.storeKind === 'memory' && (c.redisUrl !== undefined || c.redisClusterNodes.length > 0))
    out.push('STORE=memory with REDIS_URL/REDIS_CLUSTER_NODES set: replay records and one-use fulfilments hold per process, not across replicas');
  return out;
}
