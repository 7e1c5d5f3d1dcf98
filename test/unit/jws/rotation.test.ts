// Fault test: key files replaced, added and deleted while ~500 signed requests/s flow.
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyDirectory } from '../../../src/jws/key-directory.js';
import { type VerifyInput, type VerifyPolicy, verifyRequest } from '../../../src/jws/verify.js';
import { newRsa, signedTransfer } from '../../helpers/jws.js';

const POLICY: VerifyPolicy = { algorithms: new Set(['RS256']), forms: ['raw', 'sorted', 'insertion'] };
const dir = mkdtempSync(join(tmpdir(), 'sg-jwsrot-'));
let d: KeyDirectory | undefined;
after(() => {
  d?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('rotation under 500 req/s: no failures for valid keys, new keys used within 5 s', async () => {
  const stable = newRsa();
  const oldRot = newRsa();
  const newRot = newRsa();
  const oldRepl = newRsa();
  const newRepl = newRsa();
  writeFileSync(join(dir, 'stable.pem'), stable.publicPem);
  writeFileSync(join(dir, 'rot.pem'), oldRot.publicPem);
  writeFileSync(join(dir, 'repl.pem'), oldRepl.publicPem);
  d = await KeyDirectory.open({ dir, rescanIntervalSeconds: 1, unknownSourceCooldownSeconds: 1 });
  const dirRef = d;
  const pool = (k: ReturnType<typeof newRsa>, src: string): VerifyInput[] => Array.from({ length: 4 }, () => signedTransfer(k.signing, src));
  const reqs = { stable: pool(stable, 'stable'), oldRot: pool(oldRot, 'rot'), newRot: pool(newRot, 'rot'), newRepl: pool(newRepl, 'repl') };
  const ok = (r: VerifyInput) =>
    verifyRequest(r, (s) => dirRef.get(s), POLICY).then(
      () => true,
      () => false,
    );

  const failures = { stable: 0, oldRotBeforeDelete: 0, newRotAfterUse: 0, newReplAfterUse: 0 };
  let firstNewRot = -1;
  let firstNewRepl = -1;
  let addedAt = -1;
  let replacedAt = -1;
  let deletedAt = -1;
  let sent = 0;
  const t0 = Date.now();
  // Paced by schedule, not by sleep length, so a busy machine still sees ~500 verifications/s.
  for (let tick = 0; Date.now() - t0 < 3000 && tick < 2000; tick++) {
    const t = Date.now() - t0;
    if (addedAt < 0 && t >= 300) {
      writeFileSync(join(dir, 'rot.next.pem'), newRot.publicPem);
      addedAt = t;
    }
    if (replacedAt < 0 && t >= 600) {
      writeFileSync(join(dir, '.repl.tmp'), newRepl.publicPem);
      renameSync(join(dir, '.repl.tmp'), join(dir, 'repl.pem'));
      replacedAt = t;
    }
    if (deletedAt < 0 && firstNewRot >= 0 && t >= 2000) {
      unlinkSync(join(dir, 'rot.pem'));
      deletedAt = t;
    }
    if (sent >= (Date.now() - t0) / 2) {
      await sleep(5);
      continue;
    }
    const i = tick % 4;
    const [s1, s2, s3, oldRotOk, newRotOk, newReplOk] = await Promise.all([
      ok(reqs.stable[i]!),
      ok(reqs.stable[(i + 1) % 4]!),
      ok(reqs.stable[(i + 2) % 4]!),
      ok(reqs.oldRot[i]!),
      ok(reqs.newRot[i]!),
      ok(reqs.newRepl[i]!),
    ]);
    sent += 6;
    if (!s1 || !s2 || !s3) failures.stable++;
    if (deletedAt < 0 && !oldRotOk) failures.oldRotBeforeDelete++;
    if (newRotOk && firstNewRot < 0) firstNewRot = Date.now() - t0;
    else if (!newRotOk && firstNewRot >= 0) failures.newRotAfterUse++;
    if (newReplOk && firstNewRepl < 0) firstNewRepl = Date.now() - t0;
    else if (!newReplOk && firstNewRepl >= 0) failures.newReplAfterUse++;
  }
  // Load really flowed through the rotation (the pace is ~500/s; the floor leaves room for a busy CI machine).
  assert.ok(sent / ((Date.now() - t0) / 1000) >= 300, `verifications/s (${sent} in ${Date.now() - t0} ms)`);
  assert.ok(sent >= 900, `load actually flowed (${sent} verifications)`);
  assert.deepEqual(failures, { stable: 0, oldRotBeforeDelete: 0, newRotAfterUse: 0, newReplAfterUse: 0 });
  assert.ok(firstNewRot >= 0 && firstNewRot - addedAt <= 5000, `added key used after ${firstNewRot - addedAt} ms`);
  assert.ok(firstNewRepl >= 0 && firstNewRepl - replacedAt <= 5000, `replaced key used after ${firstNewRepl - replacedAt} ms`);
  assert.ok(deletedAt > 0, 'old key deleted during the run');
  // after the deletion settles, the deleted key no longer verifies
  await d.reload();
  assert.equal(await ok(reqs.oldRot[0]!), false);
  assert.equal(await ok(reqs.newRot[0]!), true);
});
