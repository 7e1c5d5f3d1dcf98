// Signing-key rotation under load between two gateways, with 0 failed requests (issue 12). A DFSP-role gateway
// signs every message a steady open-model stream sends through it; a hub-role gateway verifies them. The hub
// has the DFSP's keys only through the DFSP gateway's published JWK Set: a small loop fetches
// /.well-known/jwks.json over mTLS (with the hub's client certificate), honours its Cache-Control, checks each
// kid (RFC 7638) and writes the keys as <fspId>.<kid>.pem files into the hub's verification directory (the
// directory's overlap convention), removing those no longer published. In mid-stream `keys rotate` stages an
// ES256 key beside the RS256 one, with a publish-ahead of 5 s and a retention of 3 s: the next key must reach the
// hub before it signs, and the old one must stay until the last message it signed is verified.
// Bounded: 250 requests/s for 12 s. The summary line reports requests, failures and latency percentiles.
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type JsonWebKey, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, Pool, request } from 'undici';
import { loadConfig } from '../../../src/config/load.js';
import { startGateway } from '../../../src/gateway.js';
import { jwkThumbprint } from '../../../src/jws/jwk.js';
import { directoryKeyStore, rotateSigningKey } from '../../../src/jws/rotate.js';
import { fspiopHeaders, startStub, testEnv } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';

const RATE = 250;
const SECONDS = 12;
const ROTATE_AT_MS = 2000;
const PUBLISH_AHEAD_MS = 5000;
const RETAIN_MS = 3000;

/** The verifier's side of published keys: fetch, check, mirror into <fspId>.<kid>.pem files. */
function startKeyMirror(o: { url: string; fspId: string; dir: string; tls: { cert: string; key: string; ca: string } }) {
  const agent = new Agent({ connect: { cert: o.tls.cert, key: o.tls.key, ca: o.tls.ca, servername: 'localhost' } });
  const log: { at: number; kids: string[]; maxAge: number }[] = [];
  let stopped = false;
  const syncOnce = async (): Promise<number> => {
    const res = await request(o.url, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    const maxAge = Number(/max-age=(\d+)/.exec(String(res.headers['cache-control']))?.[1] ?? 0);
    const set = (await res.body.json()) as { keys: (JsonWebKey & { kid: string; use: string })[] };
    const wanted = new Map<string, string>();
    for (const jwk of set.keys) {
      const key = createPublicKey({ key: jwk, format: 'jwk' });
      assert.equal(jwkThumbprint(key), jwk.kid, 'kid is the RFC 7638 thumbprint of the key');
      assert.equal(jwk.use, 'sig');
      wanted.set(`${o.fspId}.${jwk.kid}.pem`, key.export({ type: 'spki', format: 'pem' }) as string);
    }
    const present = new Set(readdirSync(o.dir));
    for (const [name, pem] of wanted) {
      if (present.has(name)) continue;
      const tmp = join(o.dir, `.${name}.tmp`); // dot files are not key files (src/jws/key-file.ts)
      writeFileSync(tmp, pem);
      renameSync(tmp, join(o.dir, name));
    }
    for (const name of present) if (name.endsWith('.pem') && !wanted.has(name)) unlinkSync(join(o.dir, name));
    log.push({ at: Date.now(), kids: [...set.keys.map((k) => k.kid)], maxAge });
    return maxAge;
  };
  const loop = (async () => {
    while (!stopped) {
      // A consumer may cache for max-age; this one polls at least every 500 ms to keep the test short.
      const maxAge = await syncOnce();
      await sleep(Math.min(500, maxAge * 1000));
    }
  })();
  return {
    syncOnce,
    log,
    async stop() {
      stopped = true;
      await loop;
      await agent.close();
    },
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

test('rotation of the DFSP gateway signing key while 250 req/s flow to a hub gateway that knows its keys only from /.well-known/jwks.json: 0 failures', {
  timeout: 90_000,
}, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const switchStub = await startStub();
  const dfspBackend = await startStub();
  t.after(() => Promise.all([switchStub.close(), dfspBackend.close()]));
  const hubKeys = join(pki.dir, 'hub-keys');
  const dfspSigning = join(pki.dir, 'dfsp-signing');
  mkdirSync(hubKeys);
  mkdirSync(dfspSigning);
  const keyPath = join(dfspSigning, 'payerfsp.key');
  writeFileSync(keyPath, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const payerCert = pki.client('payerfsp');
  const hubCert = pki.client('hub');

  const hub = await startGateway(
    loadConfig(
      testEnv(pki, switchStub.url, {
        GATEWAY_ROLE: 'hub',
        VALIDATE_INBOUND_JWS: 'true',
        JWS_VERIFICATION_KEYS_DIRECTORY: hubKeys,
        JWS_KEYS_RESCAN_INTERVAL_SECONDS: '1',
      }),
    ),
  );
  t.after(() => hub.close(1000));
  const dfsp = await startGateway(
    loadConfig(
      testEnv(pki, dfspBackend.url, {
        GATEWAY_ROLE: 'dfsp',
        DFSP_ID: 'payerfsp',
        JWS_SIGN: 'true',
        JWS_SIGNING_KEY_PATH: keyPath,
        JWS_KEYS_RESCAN_INTERVAL_SECONDS: '1',
        PEER_ENDPOINT: `https://localhost:${hub.inbound.port}`,
        OUT_CLIENT_CERT_PATH: pki.write('payer-out.pem', payerCert.certPem),
        OUT_CLIENT_KEY_PATH: pki.write('payer-out.key', payerCert.keyPem),
        OUT_CA_CERT_PATH: pki.caPath,
        // A shared CI machine may queue the stream for seconds; the test is about keys, not timeouts.
        UPSTREAM_HEADERS_TIMEOUT_MS: '60000',
      }),
    ),
  );
  t.after(() => dfsp.close(1000));

  const mirror = startKeyMirror({
    url: `https://localhost:${dfsp.inbound.port}/.well-known/jwks.json`,
    fspId: 'payerfsp',
    dir: hubKeys,
    tls: { cert: hubCert.certPem, key: hubCert.keyPem, ca: pki.ca.certPem },
  });
  await mirror.syncOnce(); // the hub knows the DFSP's current key before traffic starts
  const firstKid = mirror.log[0]!.kids[0]!;

  const local = new Pool(`http://127.0.0.1:${dfsp.outbound.port}`, { connections: 64, pipelining: 1 });
  const send = async (): Promise<{ status: number; ms: number; body: string }> => {
    const started = performance.now();
    const quoteId = randomUUID();
    const res = await local.request({
      method: 'POST',
      path: '/quotes',
      headers: fspiopHeaders('quotes', 'payerfsp', { 'fspiop-destination': 'payeefsp' }),
      body: JSON.stringify({
        quoteId,
        transactionId: randomUUID(),
        amountType: 'SEND',
        amount: { amount: '10', currency: 'USD' },
        payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' } },
        payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: 'payerfsp' } },
        transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
      }),
    });
    const body = await res.body.text();
    return { status: res.statusCode, ms: performance.now() - started, body };
  };

  // Open model: request i starts at i/RATE seconds whether or not earlier ones have answered.
  const total = RATE * SECONDS;
  const results: Promise<{ status: number; ms: number; body: string } | { status: -1; ms: number; body: string }>[] = [];
  const start = performance.now();
  let rotation: Promise<Awaited<ReturnType<typeof rotateSigningKey>>> | undefined;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    if (rotation === undefined && performance.now() - start >= ROTATE_AT_MS) {
      rotation = rotateSigningKey(directoryKeyStore(dfspSigning, 'payerfsp.key'), {
        keyFile: 'payerfsp.key',
        now: Date.now(),
        publishAheadMs: PUBLISH_AHEAD_MS,
        retainMs: RETAIN_MS,
        alg: 'ES256',
      });
    }
    results.push(send().catch((e: Error) => ({ status: -1 as const, ms: performance.now() - due, body: e.message })));
  }
  const done = await Promise.all(results);
  const elapsed = (performance.now() - start) / 1000;
  const rotated = await rotation!;
  await mirror.stop();
  await local.close();

  const failures = done.filter((r) => r.status !== 202);
  const ms = done.map((r) => r.ms).sort((a, b) => a - b);
  const summary = {
    requests: done.length,
    failures: failures.length,
    achievedRate: Math.round(done.length / elapsed),
    p50ms: Math.round(percentile(ms, 50) * 10) / 10,
    p99ms: Math.round(percentile(ms, 99) * 10) / 10,
    maxMs: Math.round(ms.at(-1)! * 10) / 10,
  };
  t.diagnostic(`rotation under load: ${JSON.stringify(summary)}`);
  assert.equal(failures.length, 0, `failed: ${JSON.stringify(failures.slice(0, 3))}`);
  assert.equal(switchStub.requests.length, total, 'every request reached the switch, verified');

  // The keys the hub saw through the published set: old alone, old + new, then new alone after the retention.
  const phases = mirror.log.map((l) => l.kids.join(',')).filter((k, i, a) => i === 0 || a[i - 1] !== k);
  assert.deepEqual(phases, [firstKid, `${firstKid},${rotated.kid}`, `${rotated.kid},${firstKid}`, rotated.kid]);
  const published = mirror.log.find((l) => l.kids.includes(rotated.kid))!;
  assert.ok(published.at < rotated.activateAt, 'the next key reached the verifier before it signed');
  assert.ok(
    mirror.log.filter((l) => l.kids.includes(rotated.kid) && l.at < rotated.activateAt).every((l) => l.maxAge <= Math.ceil((rotated.activateAt - l.at) / 1000)),
    'Cache-Control never reaches past the activation',
  );
  assert.deepEqual(readdirSync(hubKeys), [`payerfsp.${rotated.kid}.pem`], 'the old key left the verifier after its retention');

  // Signatures switched algorithm at the activation: RS256 first, ES256 at the end (the last 2 s all ES256).
  const algs = switchStub.requests.map(
    (r) => JSON.parse(Buffer.from(JSON.parse(String(r.headers['fspiop-signature'])).protectedHeader, 'base64url').toString()).alg as string,
  );
  assert.equal(algs[0], 'RS256');
  assert.ok(algs.slice(-2 * RATE).every((a) => a === 'ES256'));
  const switchedAt = algs.indexOf('ES256');
  assert.ok(switchedAt > 0 && algs.slice(switchedAt + RATE).every((a) => a === 'ES256'), 'no RS256 signature a second after the switch');
});
