// The runner signs a run's set in a child process (loadtest/k6-runner/sign.ts), so that the set's garbage
// never sits in the heap of the process that shares k6's CPUs: the child writes the per-DFSP files the k6
// processes read, and a failure comes back with the child's own message.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readSplitManifest } from '../../../loadtest/k6-runner/sets.js';
import { type SignJob, signApart } from '../../../loadtest/k6-runner/sign.js';
import { makeEcPkiDir } from '../../helpers/pki.js';

const FSPS = ['perffsp-1', 'perffsp-2', 'perffsp-3'];
const keys = makeEcPkiDir(FSPS);
const tmp = mkdtempSync(join(tmpdir(), 'sg-k6sign-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(keys, { recursive: true, force: true });
});

const job = (dir: string, signers = FSPS.map((fspId) => ({ fspId, jwsKey: join(keys, 'jws-private', `${fspId}.key`) }))): SignJob => ({
  count: 120,
  signers,
  badShare: 0,
  quotesOnly: false,
  block: 4,
  skewSeconds: 300,
  ilpVersion: '1',
  dir,
});

test('the child signs the set and writes one file per sender with the manifest the k6 processes read', async () => {
  const dir = join(tmp, 'ok');
  await signApart(job(dir));
  const m = readSplitManifest(dir);
  assert.ok(m.total >= 120, `${m.total} requests`);
  assert.deepEqual(Object.keys(m.senders).sort(), FSPS);
  assert.equal(
    Object.values(m.senders).reduce((a, s) => a + s.requests, 0),
    m.total,
  );
  assert.ok(Date.parse(m.validUntil) > Date.now());
});

test("a key the child cannot use fails the signing with the child's message", async () => {
  const bad = join(tmp, 'not-a-key.pem');
  writeFileSync(bad, 'not a key\n');
  await assert.rejects(
    signApart(
      job(join(tmp, 'bad'), [
        { fspId: 'perffsp-1', jwsKey: bad },
        { fspId: 'perffsp-2', jwsKey: bad },
      ]),
    ),
    (e: Error) => {
      assert.match(e.message, /^signing the set failed \(1\): /);
      assert.match(e.message, /key|PEM|decoder/i);
      return true;
    },
  );
});
