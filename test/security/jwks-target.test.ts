// Re-reviews of 2026-12-02 (docs/security.md, "Fifth review"): GET /.well-known/jwks.json is served only for exactly its
// path as sent and a Host node-server can read (src/http/stages.ts requireExactTarget). Hono matched it on
// node-server's URL, in which dot segments are resolved and escapes decoded, so targets the FSPIOP router refuses were
// served the keys; and a request whose Host admitForRouting replaced was served, where node-server refused it before.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { startTestGateway } from '../helpers/gateway.js';
import { makeTestPki } from '../helpers/pki.js';
import { exchange } from './raw.js';

test('the published keys: only the exact target with a readable Host is served', { timeout: 20_000 }, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = pki.write('hub.key', key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const gw = await startTestGateway({ pki, env: { JWS_SIGN: 'true', JWS_SIGNING_KEY_PATH: keyPath } });
  t.after(() => gw.close());
  const get = async (target: string, host = 'localhost') => {
    const { answer } = await exchange({ side: 'inbound', gw }, (s) => s.write(`GET ${target} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`), 3000);
    return `${(answer.split('\r\n')[0] ?? '').slice(9, 12)}/${/"errorCode":"(\d+)"/.exec(answer)?.[1] ?? ''}`;
  };
  assert.equal(await get('/.well-known/jwks.json'), '200/', 'control: the exact target is served');
  assert.equal(await get('/.well-known/jwks.json?x=1'), '200/', 'a query does not change the path');
  for (const target of ['/x/../.well-known/jwks.json', '/.well-known/./jwks.json', '/.well-known/jwks%2Ejson', '/%2Ewell-known/jwks.json'])
    assert.match(await get(target), /^(400\/3101|404\/3002)$/, target);
  assert.equal(await get('/.well-known/jwks.json', 'not a host'), '400/3101', 'a Host node-server cannot read');
});
