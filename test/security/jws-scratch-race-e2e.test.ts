// Re-review 2 of 2026-12-02 (attack on d0177a5, fixed: a verification that awaits between keys builds its own buffer), end to end. DFSP role: the hub is a relay and may send with any FSPIOP-Source; the
// payer's FSPIOP-Signature is what proves the payer wrote the message (docs/security.md assets: message authenticity).
// A relay that has seen one fresh message of dfsp1 (signature S over input I, e.g. dfsp1 -> dfsp3) has the payee's
// gateway accept a body of its own making "signed by dfsp1": a whitespace-padded body (> YIELD_ABOVE_BYTES, so its keys
// are tried in turns) whose sorted form is small (its signing input is built in the SHARED scratch buffer), carrying S,
// while copies of I with a spoilt signature (refused, no replay record) keep writing I into the scratch.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { test } from 'node:test';
import { canonicalJson } from '../../src/fspiop/canonical-json.js';
import { ALGORITHMS } from '../../src/jws/algorithms.js';
import { signRequest } from '../../src/jws/sign.js';
import { YIELD_ABOVE_BYTES } from '../../src/util/turns.js';
import { fspiopHeaders, send, startTestGateway } from '../helpers/gateway.js';
import { TRANSFER } from '../helpers/jws.js';
import { makeTestPki } from '../helpers/pki.js';

test('a relay cannot have a body of its own accepted as signed by dfsp1 (shared scratch across verification turns)', { timeout: 90_000 }, async (t) => {
  const pki = makeTestPki();
  const keysDir = `${pki.dir}/jws`;
  mkdirSync(keysDir);
  // dfsp1 has two keys in force (a rotation in progress).
  const a = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(`${keysDir}/dfsp1.a.pem`, a.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  writeFileSync(`${keysDir}/dfsp1.b.pem`, b.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const tg = await startTestGateway({
    pki,
    env: { GATEWAY_ROLE: 'dfsp', DFSP_ID: 'dfsp2', HUB_ID: 'hub', VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keysDir, JWS_SIGN: 'false' },
  });
  t.after(() => tg.close());
  const hub = tg.cert('hub');
  const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: pki.ca.certPem, cert: hub.certPem, key: hub.keyPem, servername: 'localhost' });
  t.after(() => agent.destroy());
  const post = (headers: Record<string, string>, body: Buffer) =>
    send(tg.gw.inbound.port, { method: 'POST', path: '/transfers', headers, body, ca: pki.ca.certPem, agent });

  const attempt = async (privateKey: import('node:crypto').KeyObject) => {
    // I: a genuine transfer dfsp1 -> dfsp3 that the hub relays (it never reaches dfsp2's gateway).
    const genuineJson = { ...TRANSFER, transferId: randomUUID(), payerFsp: 'dfsp1', payeeFsp: 'dfsp3' };
    const gh = fspiopHeaders('transfers', 'dfsp1', { 'fspiop-destination': 'dfsp3' });
    const genuine = signRequest({ method: 'POST', url: '/transfers', headers: gh, json: genuineJson }, { key: privateKey, alg: ALGORITHMS.RS256 });
    const S = (JSON.parse(genuine.headers['fspiop-signature']) as { signature: string }).signature;
    // Copies of I with a spoilt signature: refused (3105, no replay record), but their verification writes I into the scratch.
    const spoilt = randomBytes(256);
    spoilt[0] = 0x01;
    const gsig = JSON.parse(genuine.headers['fspiop-signature']) as { protectedHeader: string };
    const writerHeaders = { ...gh, ...genuine.headers, 'fspiop-signature': JSON.stringify({ ...gsig, signature: spoilt.toString('base64url') }) };

    // The forgery: dfsp1 "pays" dfsp2 999.99, a fresh Date and a protected header of its own (same length), signature S.
    const forgedJson = { ...genuineJson, transferId: randomUUID(), payeeFsp: 'dfsp2', amount: { currency: 'USD', amount: '999.99' } };
    const canon = canonicalJson(forgedJson);
    assert.equal(canon.length, genuine.body.length);
    const fh = fspiopHeaders('transfers', 'dfsp1', { 'fspiop-destination': 'dfsp2' });
    const shaped = signRequest(
      { method: 'POST', url: '/transfers', headers: fh, json: forgedJson },
      { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, alg: ALGORITHMS.RS256 },
    );
    const ph = (JSON.parse(shaped.headers['fspiop-signature']) as { protectedHeader: string }).protectedHeader;
    assert.equal(ph.length, gsig.protectedHeader.length);
    const forgedHeaders = { ...fh, ...shaped.headers, 'fspiop-signature': JSON.stringify({ protectedHeader: ph, signature: S }) };
    const forgedBody = Buffer.from(`${canon}${' '.repeat(YIELD_ABOVE_BYTES + 1024)}`);

    let done = false;
    const writers = Array.from({ length: 6 }, async () => {
      while (!done) await post(writerHeaders, genuine.body).catch(() => {});
    });
    await new Promise((r) => setTimeout(r, 50));
    const r = await post(forgedHeaders, forgedBody);
    done = true;
    await Promise.all(writers);
    return r.status === 202 ? 'accepted' : `${r.status} ${r.json().errorInformation.errorCode}`;
  };
  // dfsp1's keys are tried in label order (a, b): I was signed with the one tried second. A few attempts: the
  // writers' copies must land in the turn the forgery awaits.
  const outcomes: string[] = [];
  for (let i = 0; i < 12 && !outcomes.includes('accepted'); i++) outcomes.push(await attempt(b.privateKey));
  const forwarded = tg.stub.requests.filter((x) => x.body.toString().includes('999.99'));
  assert.equal(forwarded.length, 0, `forged transfers forwarded to dfsp2's backend as signed by dfsp1 (outcomes of the attempts: ${outcomes.join(', ')})`);
});
