// Re-review 2 of 2026-12-02 (attack on d0177a5; fixed: a verification that awaits between keys builds its own buffer). firstVerifyingInTurns awaits between keys, and `data` was the SHARED scratch
// buffer: signingInput hands out the scratch whenever the signing input is <= 64 KiB, and the decision to try keys in
// turns is taken on the RAW body's size. A body > YIELD_ABOVE_BYTES made of a small JSON value and whitespace has a
// small canonical form: its signing input lives in the scratch, and while it awaits the next turn any other request's
// verification overwrites the scratch. A forged body then verifies with a signature replayed from another message.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { canonicalJson } from '../../src/fspiop/canonical-json.js';
import { headerGetter, verifyRequest } from '../../src/jws/verify.js';
import { YIELD_ABOVE_BYTES } from '../../src/util/turns.js';
import { newRsa, signedTransfer, TRANSFER, verificationKey } from '../helpers/jws.js';

const policy = { algorithms: new Set(['RS256']), forms: ['raw', 'sorted', 'insertion'] as const };

test('a forged padded body never verifies with a signature replayed from another message (shared scratch across turns)', async () => {
  // dfsp1 holds two keys (e.g. during a rotation); the message it really signed was signed with the second one.
  const oldKey = newRsa();
  const newKey = newRsa();
  const keys = [verificationKey(createPublicKey(oldKey.publicPem), 'old'), verificationKey(createPublicKey(newKey.publicPem), 'new')];
  const keysFor = () => keys;

  // B: a genuine message of dfsp1 the attacker has seen (the payee of a transfer sees the payer's signature).
  const genuine = signedTransfer(newKey.signing, 'dfsp1', { ...TRANSFER, payerFsp: 'dfsp1' });
  assert.equal((await verifyRequest(genuine, keysFor, policy)).keyId, 'dfsp1.new');

  // A: the attacker's body, other payee and amount of the same length, padded with whitespace past YIELD_ABOVE_BYTES;
  // its sorted form has exactly the genuine body's length. Headers (protected header and signature) copied from B.
  const forgedJson = { ...TRANSFER, payerFsp: 'dfsp1', payeeFsp: 'evil-fsp', amount: { currency: 'USD', amount: '999.99' } };
  const canon = canonicalJson(forgedJson);
  assert.equal(canon.length, genuine.body.length);
  assert.notEqual(canon, genuine.body.toString());
  const forgedBody = Buffer.from(`${canon}${' '.repeat(YIELD_ABOVE_BYTES + 10)}`);
  const forged = { method: 'POST', path: '/transfers', header: headerGetter(genuine.headers), body: forgedBody };

  // Other requests go on meanwhile: here the attacker replays B on another connection (it may be refused later as a
  // replay; its verification alone writes the scratch). Any traffic of the same length would do.
  let done = false;
  const others = (async () => {
    while (!done) {
      await verifyRequest(genuine, keysFor, policy).catch(() => {});
      await new Promise((r) => setImmediate(r));
    }
  })();
  const verdict = await verifyRequest(forged, keysFor, policy).then(
    (r) => `verified as ${r.keyId} (${r.form})`,
    (e: { code?: string }) => e.code ?? String(e),
  );
  done = true;
  await others;
  assert.equal(verdict, 'GW_JWS_BAD_SIGNATURE', 'a forged body verified with the signature of another message');
});
