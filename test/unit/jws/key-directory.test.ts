import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { KeyDirectory } from '../../../src/jws/key-directory.js';
import { parseKeyFileName } from '../../../src/jws/key-file.js';
import { type VerifyPolicy, verifyRequest } from '../../../src/jws/verify.js';
import { KEYS, newRsa, signedTransfer } from '../../helpers/jws.js';
import { waitFor } from '../../helpers/wait.js';

const POLICY: VerifyPolicy = { algorithms: new Set(['RS256', 'ES256']), forms: ['raw', 'sorted', 'insertion'] };
const dirs: string[] = [];
const open: KeyDirectory[] = [];
after(() => {
  for (const d of open) d.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'sg-jwskeys-'));
  dirs.push(d);
  return d;
};
const openDir = async (dir: string, extra: Partial<Parameters<typeof KeyDirectory.open>[0]> = {}) => {
  const d = await KeyDirectory.open({ dir, rescanIntervalSeconds: 3600, watch: false, ...extra });
  open.push(d);
  return d;
};
const code = (c: string) => (e: unknown) => e instanceof GatewayError && e.code === c;

const A = newRsa();
const B = newRsa();
const C = newRsa();

describe('key file names', () => {
  test('primary, labelled and ignored names', () => {
    assert.deepEqual(parseKeyFileName('payerfsp.pem'), { fspId: 'payerfsp', label: '' });
    assert.deepEqual(parseKeyFileName('payerfsp.2027-01.pem'), { fspId: 'payerfsp', label: '2027-01' });
    assert.equal(parseKeyFileName('..data'), undefined);
    assert.equal(parseKeyFileName('.hidden.pem'), undefined);
    assert.equal(parseKeyFileName('payerfsp.key'), undefined);
    assert.equal(parseKeyFileName('payerfsp..pem'), undefined);
  });
});

describe('KeyDirectory', () => {
  test('a cache hit parses no PEM and answers synchronously', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    const d = await openDir(dir);
    const parses = d.stats.pemParses;
    assert.equal(parses, 1);
    for (let i = 0; i < 50; i++) {
      const keys = d.get('payerfsp');
      assert.ok(Array.isArray(keys), 'synchronous on a hit');
      await verifyRequest(signedTransfer(A.signing, 'payerfsp'), (s) => d.get(s), POLICY);
    }
    assert.equal(d.stats.pemParses, parses);
  });

  test('overlapping keys both verify and are listed with fingerprints', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    writeFileSync(join(dir, 'payerfsp.next.pem'), B.publicPem);
    writeFileSync(join(dir, 'payeefsp.pem'), KEYS.payerfspCertificatePem!);
    const d = await openDir(dir);
    assert.equal((await verifyRequest(signedTransfer(A.signing, 'payerfsp'), (s) => d.get(s), POLICY)).keyId, 'payerfsp');
    assert.equal((await verifyRequest(signedTransfer(B.signing, 'payerfsp'), (s) => d.get(s), POLICY)).keyId, 'payerfsp.next');
    await assert.rejects(
      verifyRequest(signedTransfer(C.signing, 'payerfsp'), (s) => d.get(s), POLICY),
      code('GW_JWS_BAD_SIGNATURE'),
    );
    const list = await d.list();
    assert.deepEqual(
      list.map((l) => [l.fspId, l.label, l.family, l.bits]),
      [
        ['payeefsp', '', 'rsa', 2048],
        ['payerfsp', '', 'rsa', 2048],
        ['payerfsp', 'next', 'rsa', 2048],
      ],
    );
    assert.match(list[1]!.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(typeof list[0]!.notAfter, 'number', 'certificate expiry recorded');
    assert.deepEqual(d.knownIds(), ['payeefsp', 'payerfsp']);
  });

  test('a file that no longer parses keeps the previous key and reports the failure', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    const reloads: string[] = [];
    const d = await openDir(dir, {
      telemetry: { ...(await import('../../../src/telemetry/types.js')).NOOP_TELEMETRY, reload: (e) => reloads.push(e.outcome) },
    });
    assert.deepEqual(reloads, ['ok'], 'initial scan');
    writeFileSync(join(dir, 'payerfsp.pem'), '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n');
    assert.equal(await d.reload(), false);
    assert.deepEqual(reloads, ['ok', 'failed']);
    assert.equal(d.stats.reloadFailures, 1);
    assert.equal((await verifyRequest(signedTransfer(A.signing, 'payerfsp'), (s) => d.get(s), POLICY)).keyId, 'payerfsp');
    writeFileSync(join(dir, 'payerfsp.pem'), B.publicPem);
    assert.equal(await d.reload(), true, 'fixed file: healthy again');
    assert.equal((await verifyRequest(signedTransfer(B.signing, 'payerfsp'), (s) => d.get(s), POLICY)).keyId, 'payerfsp');
  });

  test('deleting the file revokes the key (unknown source)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    const d = await openDir(dir, { unknownSourceCooldownSeconds: 1 });
    await verifyRequest(signedTransfer(A.signing, 'payerfsp'), (s) => d.get(s), POLICY);
    unlinkSync(join(dir, 'payerfsp.pem'));
    await d.reload();
    await assert.rejects(
      verifyRequest(signedTransfer(A.signing, 'payerfsp'), (s) => d.get(s), POLICY),
      code('GW_JWS_KEY_UNKNOWN'),
    );
  });

  test('a 1024-bit RSA key in the directory is rejected', async () => {
    const dir = tmp();
    const weak = newRsa(1024);
    writeFileSync(join(dir, 'weakfsp.pem'), weak.publicPem);
    const d = await openDir(dir);
    assert.equal((await d.list())[0]!.rejected, 'RSA key under 2048 bits');
    await assert.rejects(
      verifyRequest(signedTransfer(weak.signing, 'weakfsp'), (s) => d.get(s), POLICY),
      code('GW_JWS_KEY_REJECTED'),
    );
  });

  test('10 000 random unknown sources cause at most one scan per cooldown', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    let now = 1_000_000;
    const d = await openDir(dir, { unknownSourceCooldownSeconds: 5, now: () => now });
    const scans = d.stats.scans;
    const round = async () => {
      const results = await Promise.all(Array.from({ length: 10_000 }, () => d.get(`rnd${Math.random().toString(36).slice(2)}`)));
      assert.ok(results.every((r) => r.length === 0));
    };
    await round();
    assert.equal(d.stats.scans - scans, 1);
    now += 4_999;
    await round();
    assert.equal(d.stats.scans - scans, 1);
    now += 2;
    await round();
    assert.equal(d.stats.scans - scans, 2);
    assert.equal(d.stats.pemParses, 1, 'no key re-read for unknown sources');
  });

  test("a peer's first key written just before its first requests: the lookups during the scan it causes wait for it", async () => {
    // The race the key-directory rotation test met (test/integration/jws/rotation-under-load.test.ts): the
    // second request arrived while the first one's scan was running, inside the cooldown, and was refused.
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    let now = 1_000_000;
    const d = await openDir(dir, { unknownSourceCooldownSeconds: 5, now: () => now });
    writeFileSync(join(dir, 'payeefsp.pem'), B.publicPem);
    const scans = d.stats.scans;
    const results = await Promise.all(Array.from({ length: 50 }, () => d.get('payeefsp')));
    assert.equal(d.stats.scans - scans, 1, 'one scan for all of them');
    assert.ok(results.every((r) => r.length === 1 && r[0]!.key !== undefined));
    await Promise.all(results.map(() => verifyRequest(signedTransfer(B.signing, 'payeefsp'), (s) => d.get(s), POLICY)));
    // Once the scan is over, an unknown source inside the cooldown is refused at once (no scan, no wait).
    now += 1000;
    assert.deepEqual(d.get('nobody'), []);
    assert.equal(d.stats.scans - scans, 1);
  });

  test('a lookup waiting on a scan that hangs gives up after its bound and gets no keys (fail closed)', { timeout: 10_000 }, async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    const d = await openDir(dir, { unknownSourceCooldownSeconds: 1 });
    // A scan stuck on a hung mount: the directory scan never finishes.
    (d as unknown as { scanOnce: () => Promise<void> }).scanOnce = () => new Promise<void>(() => {});
    void d.reload();
    // The first unknown source joins the running scan; the second, inside the cooldown, waits on it too.
    const [a, b] = await Promise.all([d.get('nobody'), d.get('nobody2')]);
    assert.deepEqual(a, []);
    assert.deepEqual(b, []);
  });

  test('concurrent misses share one load', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    const d = await openDir(dir, { cacheSize: 1 });
    writeFileSync(join(dir, 'payeefsp.pem'), B.publicPem);
    await d.reload(); // payeefsp indexed, not cached
    const before = d.stats.pemParses;
    const all = await Promise.all(Array.from({ length: 100 }, () => d.get('payeefsp')));
    assert.equal(d.stats.pemParses - before, 1);
    assert.ok(all.every((k) => k === all[0]));
  });

  test('a Kubernetes ..data symlink swap is picked up by the watcher', async () => {
    const dir = tmp();
    const v1 = join(dir, '..2026_11_23_00_00_01.1');
    const v2 = join(dir, '..2026_11_23_00_00_02.2');
    mkdirSync(v1);
    mkdirSync(v2);
    writeFileSync(join(v1, 'payerfsp.pem'), A.publicPem);
    writeFileSync(join(v2, 'payerfsp.pem'), B.publicPem);
    symlinkSync('..2026_11_23_00_00_01.1', join(dir, '..data'));
    symlinkSync('..data/payerfsp.pem', join(dir, 'payerfsp.pem'));
    const d = await openDir(dir, { watch: true, rescanIntervalSeconds: 1 });
    await verifyRequest(signedTransfer(A.signing, 'payerfsp'), (s) => d.get(s), POLICY);
    symlinkSync('..2026_11_23_00_00_02.2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    const ok = await waitFor(
      () =>
        verifyRequest(signedTransfer(B.signing, 'payerfsp'), (s) => d.get(s), POLICY).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 4000, intervalMs: 50 },
    ).catch(() => false);
    assert.ok(ok, 'new key active after the swap');
    await assert.rejects(
      verifyRequest(signedTransfer(A.signing, 'payerfsp'), (s) => d.get(s), POLICY),
      code('GW_JWS_BAD_SIGNATURE'),
    );
  });
});

describe('KeyDirectory failure modes', () => {
  test('open() refuses a missing directory', async () => {
    await assert.rejects(KeyDirectory.open({ dir: join(tmpdir(), 'sg-no-such-dir-9f3a') }), /not a directory/);
  });

  test('a directory that becomes unreadable keeps the keys already loaded', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    const d = await openDir(dir);
    const moved = `${dir}-moved`;
    dirs.push(moved);
    renameSync(dir, moved);
    assert.equal(await d.reload(), false);
    assert.deepEqual(d.knownIds(), ['payerfsp']);
    assert.equal((await verifyRequest(signedTransfer(A.signing, 'payerfsp'), (s) => d.get(s), POLICY)).form, 'raw');
  });
});

describe('KeyDirectory telemetry', () => {
  test('cache events, certificate expiry, known peers and reload outcomes are reported', async () => {
    const { NOOP_TELEMETRY } = await import('../../../src/telemetry/types.js');
    const dir = tmp();
    writeFileSync(join(dir, 'payerfsp.pem'), A.publicPem);
    writeFileSync(join(dir, 'payeefsp.pem'), KEYS.payerfspCertificatePem!);
    const events: string[] = [];
    const expiry: [string, number | undefined][] = [];
    let known: string[] = [];
    const now = 0;
    const d = await openDir(dir, {
      now: () => now,
      telemetry: {
        ...NOOP_TELEMETRY,
        keyCache: (e) => events.push(e.event),
        expiry: (e) => expiry.push([e.file.slice(dir.length + 1), e.notAfter]),
        knownPeers: (ids) => {
          known = [...ids].sort();
        },
      },
    });
    assert.deepEqual(known, ['payeefsp', 'payerfsp']);
    assert.deepEqual(events, ['load', 'load']);
    assert.equal(expiry.length, 1);
    assert.equal(expiry[0]![0], 'payeefsp.pem');
    assert.ok(expiry[0]![1]! > 1_700_000_000);
    events.length = 0;
    d.get('payerfsp');
    await d.get('nobody');
    await Promise.resolve(d.get('nobody2'));
    assert.deepEqual(events, ['hit', 'miss', 'negative_hit']);
    unlinkSync(join(dir, 'payeefsp.pem'));
    await d.reload();
    assert.deepEqual(known, ['payerfsp']);
    assert.deepEqual(expiry.at(-1), ['payeefsp.pem', undefined], 'expiry series removed with the file');
  });
});
