// A key file that does not parse keeps the previous key (tested in key-directory/signing-key tests) and
// says why through onError (issue 10: no error swallowed).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KeyDirectory } from '../../../src/jws/key-directory.js';
import { SigningKeyHolder } from '../../../src/jws/signing-key.js';
import { KEYS, newRsa } from '../../helpers/jws.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-jwserr-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a verification key file that does not parse is reported with its path and cause', async () => {
  const keys = join(dir, 'keys');
  mkdirSync(keys);
  writeFileSync(join(keys, 'payerfsp.pem'), newRsa().publicPem);
  writeFileSync(join(keys, 'payeefsp.pem'), 'not a key');
  const errors: Error[] = [];
  const d = await KeyDirectory.open({ dir: keys, watch: false, rescanIntervalSeconds: 3600, onError: (e) => errors.push(e as Error) });
  try {
    assert.deepEqual(
      errors.map((e) => e.message),
      [`JWS key file ${join(keys, 'payeefsp.pem')} does not parse`],
    );
    assert.ok(errors[0]!.cause instanceof Error);
  } finally {
    d.close();
  }
});

test('a signing key file replaced by garbage is reported; the previous key stays', async () => {
  const path = join(dir, 'signing.key');
  writeFileSync(path, KEYS.payerfspPrivateKeyPem!);
  const errors: Error[] = [];
  const h = await SigningKeyHolder.open({ path, watch: false, rescanIntervalSeconds: 3600, onError: (e) => errors.push(e as Error) });
  try {
    writeFileSync(path, 'garbage');
    assert.equal(await h.reload(), false);
    assert.deepEqual(
      errors.map((e) => e.message),
      [`JWS signing key file ${path} does not parse`],
    );
    assert.equal(h.current().alg.name, 'RS256');
  } finally {
    h.close();
  }
});
