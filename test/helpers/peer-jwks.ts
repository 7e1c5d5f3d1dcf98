// A gateway whose peer dfsp7 publishes its keys in a JWK Set of its own (PEERS_PATH jwksUrl), served over mTLS by
// startJwksServer, with a remote client to send as dfsp7: the bounded-work tests of a peer's own key set.
import { mkdirSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { startTestGateway } from './gateway.js';
import { startJwksServer } from './key-servers.js';
import { makeTestPki } from './pki.js';
import { startRemoteClient } from './remote-client.js';
import { waitFor } from './wait.js';

/** Starts it with `keys` as dfsp7's JWK Set and `env` over the defaults; waits for the first fetch of the set. */
export async function gatewayWithPeerJwks(t: TestContext, keys: readonly object[], env: Record<string, string> = {}) {
  const pki = makeTestPki();
  const keysDir = `${pki.dir}/jws`;
  mkdirSync(keysDir);
  const jwks = await startJwksServer(pki);
  t.after(() => jwks.close());
  jwks.answer({ body: JSON.stringify({ keys }), headers: { 'cache-control': 'max-age=600' } });
  const out = pki.client('gateway-out');
  const client = await startRemoteClient();
  t.after(() => client.close());
  const tg = await startTestGateway({
    pki,
    env: {
      VALIDATE_INBOUND_JWS: 'true',
      JWS_VERIFICATION_KEYS_DIRECTORY: keysDir,
      PEERS_PATH: pki.write('peers.json', JSON.stringify({ dfsp7: { jwksUrl: jwks.jwksUrl } })),
      PEER_ENDPOINT: 'http://127.0.0.1:9/',
      OUT_CA_CERT_PATH: pki.caPath,
      OUT_CLIENT_CERT_PATH: pki.write('out.pem', out.certPem),
      OUT_CLIENT_KEY_PATH: pki.write('out.key', out.keyPem),
      REPLAY_PROTECTION: 'false',
      ...env,
    },
  });
  t.after(() => tg.close());
  const source = () => tg.gw.keys?.sources().find((s) => s.kind === 'jwks');
  await waitFor(() => source()?.lastSuccess != null || source()?.lastFailure != null, { what: 'the first fetch of the key set' });
  return { pki, tg, client, source, keysOf: () => tg.gw.keys?.remote?.keysOf('dfsp7') ?? [] };
}
