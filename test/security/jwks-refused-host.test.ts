// Second re-review of 2026-12-02: a request whose Host admitForRouting (src/http/client-error.ts) replaced is refused
// on the published-keys route too (src/http/stages.ts requireReadableHost), as node-server refused it before.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startTestGateway } from '../helpers/gateway.js';
import { makeTestPki } from '../helpers/pki.js';

test('GET /.well-known/jwks.json with a Host that is not a host is refused, not served', { timeout: 20_000 }, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = pki.write('hub.key', key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  const tg = await startTestGateway({ pki, env: { JWS_SIGN: 'true', JWS_SIGNING_KEY_PATH: keyPath } });
  t.after(() => tg.close());
  const cert = tg.cert('dfsp1');
  const raw = (host: string) =>
    new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: tg.gw.inbound.port, servername: 'localhost', ca: pki.ca.certPem, cert: cert.certPem, key: cert.keyPem });
      let out = '';
      s.once('secureConnect', () => s.write(`GET /.well-known/jwks.json HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`));
      s.on('data', (d: Buffer) => {
        out += d.toString('latin1');
      });
      s.on('error', reject);
      s.on('close', () => resolve(out));
      setTimeout(() => s.destroy(), 3000);
    });
  assert.match((await raw('localhost')).split('\r\n')[0] ?? '', / 200 /, 'control: a good Host is served');
  const refused = await raw('not a host');
  assert.match(refused.split('\r\n')[0] ?? '', / 400 /, `a refused Host was answered ${JSON.stringify(refused.slice(0, 200))}`);
});
