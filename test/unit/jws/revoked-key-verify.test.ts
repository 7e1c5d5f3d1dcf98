// verifyRequest and revoked keys (src/jws/verify.ts): a revoked key never verifies; a signature it would
// have verified is refused as GW_JWS_KEY_REVOKED, the other keys of the FSP keep working.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { type VerificationKey, verifyRequest } from '../../../src/jws/verify.js';
import { newRsa, signedTransfer, verificationKey } from '../../helpers/jws.js';

const policy = { algorithms: new Set(['RS256', 'ES256']), forms: ['raw', 'sorted'] as const };
const a = newRsa();
const b = newRsa();
const keyA = verificationKey(createPublicKey(a.publicPem), 'a');
const keyB = verificationKey(createPublicKey(b.publicPem), 'b');
const revoke = (k: VerificationKey): VerificationKey => ({ ...k, revoked: 'compromised' });
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof GatewayError ? e.code : String(e)),
  );

test('a revoked key refuses what it signed (GW_JWS_KEY_REVOKED) while the other key of the FSP verifies', async () => {
  const keys = [revoke(keyA), keyB];
  assert.equal(await code(verifyRequest(signedTransfer(a.signing, 'dfsp1'), () => keys, policy)), 'GW_JWS_KEY_REVOKED');
  const r = await verifyRequest(signedTransfer(b.signing, 'dfsp1'), () => keys, policy);
  assert.equal(r.keyId, 'dfsp1.b');
});

test('an FSP whose only key is revoked: its signatures are GW_JWS_KEY_REVOKED, others are GW_JWS_BAD_SIGNATURE', async () => {
  const keys = [revoke(keyA)];
  assert.equal(await code(verifyRequest(signedTransfer(a.signing, 'dfsp1'), () => keys, policy)), 'GW_JWS_KEY_REVOKED');
  assert.equal(await code(verifyRequest(signedTransfer(b.signing, 'dfsp1'), () => keys, policy)), 'GW_JWS_BAD_SIGNATURE');
  // a revoked key listed first never wins over a key in force
  assert.equal((await verifyRequest(signedTransfer(b.signing, 'dfsp1'), () => [revoke(keyA), keyB], policy)).keyId, 'dfsp1.b');
});

test('the same key object revoked and not revoked: the revocation flag alone decides', async () => {
  const req = signedTransfer(a.signing, 'dfsp1');
  assert.equal(await code(verifyRequest(req, () => [keyA], policy)), 'ok');
  assert.equal(await code(verifyRequest(req, () => [revoke(keyA)], policy)), 'GW_JWS_KEY_REVOKED');
});
