// Bounded work per request against a peer's own key set (docs/security.md class 10; hostile review of 2026-12-02).
// A peer that publishes its keys (its `jwksUrl`) chooses how many there are and what each costs to verify with, and
// a request in its name with a signature no key verifies tries every key for every payload form. Before, a set of
// 100 RSA-3072 keys with ~3064-bit public exponents passed the key rules, and one such request stalled the event
// loop for 1.5 s, for every DFSP. Now an RSA key must have exponent 65537 and at most 4096 bits
// (src/jws/algorithms.ts), and one source gives one FSP at most 10 keys (src/jws/sources/documents.ts).
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { ALGORITHMS } from '../../src/jws/algorithms.js';
import { signRequest } from '../../src/jws/sign.js';
import { MAX_KEYS_PER_FSP } from '../../src/jws/sources/documents.js';
import { fspiopHeaders } from '../helpers/gateway.js';
import { TRANSFER } from '../helpers/jws.js';
import { oddRandom, randomRsaJwk } from '../helpers/key-servers.js';
import { gatewayWithPeerJwks } from '../helpers/peer-jwks.js';

const rsaJwk = (i: number, bits: number, e = 65537n) => randomRsaJwk(`k${i}`, bits, e, { alg: 'RS256' });

async function harness(t: import('node:test').TestContext, keys: object[]) {
  const { pki, tg, client, source, keysOf } = await gatewayWithPeerJwks(t, keys, { JWS_PAYLOAD_FORMS: 'raw,sorted,insertion' });
  /** A transfer from dfsp7 that no key verifies (RSA-4096 length signature), body not canonical: every form runs. */
  const spoiltTransfer = async () => {
    const headers = fspiopHeaders('transfers', 'dfsp7', { 'fspiop-destination': 'dfsp2' });
    const json = { ...TRANSFER, payerFsp: 'dfsp7', transferId: randomUUID() };
    const signed = signRequest(
      { method: 'POST', url: '/transfers', headers, json },
      { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, alg: ALGORITHMS.RS256 },
    );
    const body = Buffer.from(JSON.stringify(Object.fromEntries(Object.entries(json).reverse()), null, 1));
    const sig = randomBytes(512);
    sig[0] = 0x01;
    const header = JSON.parse(signed.headers['fspiop-signature']) as { signature: string; protectedHeader: string };
    const spoilt = { ...signed.headers, 'fspiop-signature': JSON.stringify({ ...header, signature: sig.toString('base64url') }) };
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const reply = await client.send({
      port: tg.gw.inbound.port,
      method: 'POST',
      path: '/transfers',
      headers: { ...headers, ...spoilt },
      body,
      cert: tg.cert('dfsp7'),
      ca: pki.ca.certPem,
    });
    h.disable();
    return {
      status: reply.status,
      code: reply.status === 202 ? undefined : (reply.json() as { errorInformation: { errorCode: string } }).errorInformation.errorCode,
      maxMs: h.max / 1e6,
    };
  };
  return { tg, source, spoiltTransfer, keysOf };
}

test('a key set with RSA keys of a large public exponent is refused whole; the peer has no key', { timeout: 60_000 }, async (t) => {
  const h = await harness(t, [rsaJwk(0, 2048), rsaJwk(1, 3072, oddRandom(3064))]);
  assert.equal(h.keysOf().length, 0);
  assert.equal(h.source()?.lastFailure?.reason, 'key_rejected');
  assert.match(h.source()?.lastFailure?.detail ?? '', /exponent not 65537/);
  const r = await h.spoiltTransfer();
  assert.deepEqual([r.status, r.code], [400, '3105'], 'no key for the source (GW_JWS_KEY_UNKNOWN)');
});

test('a key set with an RSA key over 4096 bits is refused whole', { timeout: 60_000 }, async (t) => {
  const h = await harness(t, [rsaJwk(0, 2048), rsaJwk(1, 8192)]);
  assert.equal(h.keysOf().length, 0);
  assert.match(h.source()?.lastFailure?.detail ?? '', /over 4096 bits/);
});

test(`a key set with more than ${MAX_KEYS_PER_FSP} signature keys is refused whole`, { timeout: 60_000 }, async (t) => {
  const h = await harness(
    t,
    Array.from({ length: MAX_KEYS_PER_FSP + 1 }, (_, i) => rsaJwk(i, 2048)),
  );
  assert.equal(h.keysOf().length, 0);
  assert.equal(h.source()?.lastFailure?.reason, 'bad_document');
});

test('the costliest key set a peer may publish: one refused request stays within the 50 ms stall bound', { timeout: 60_000 }, async (t) => {
  const h = await harness(
    t,
    Array.from({ length: MAX_KEYS_PER_FSP }, (_, i) => rsaJwk(i, 4096)),
  );
  assert.equal(h.keysOf().length, MAX_KEYS_PER_FSP, 'the set was accepted whole');
  const r = await h.spoiltTransfer();
  assert.deepEqual([r.status, r.code], [400, '3105']);
  assert.ok(r.maxMs < 50, `the event loop stalled ${r.maxMs.toFixed(0)} ms on one refused request`);
});
