// `switchguard keys rotate | status` over a directory (options, safety floors, audit records, emergency), and the
// Kubernetes Secret store against a stub of the API server's Secret endpoint (GET, PUT with resourceVersion, 409).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { keysRotate, keysStatus, parseDuration } from '../../../src/cli/keys.js';
import { inClusterApi, secretKeyStore } from '../../../src/cli/kube-secret.js';
import { parseKeyring, statesAt } from '../../../src/jws/keyring.js';
import { rotateSigningKey } from '../../../src/jws/rotate.js';
import { cliIo } from '../../helpers/cli-io.js';

const root = mkdtempSync(join(tmpdir(), 'sg-keyscli-'));
after(() => rmSync(root, { recursive: true, force: true }));

const io = () => cliIo();

const pkcs8 = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const T0 = Date.parse('2027-05-01T03:00:00Z');
const DAY = 86_400_000;

test('durations', () => {
  assert.equal(parseDuration('2d', 'x'), 2 * DAY);
  assert.equal(parseDuration('36h', 'x'), 36 * 3_600_000);
  assert.equal(parseDuration('90m', 'x'), 5_400_000);
  assert.equal(parseDuration('600s', 'x'), 600_000);
  for (const bad of ['2', '1w', '-1d', '1.5h', 'P1D']) assert.throws(() => parseDuration(bad, '--retain'), /--retain: expected a duration/);
});

test('keys rotate → status → rotate again (unchanged) → --emergency, over a directory, with audit records', async () => {
  const dir = join(root, 'dir');
  mkdirSync(dir);
  const key = join(dir, 'signing.key');
  writeFileSync(key, pkcs8(), { mode: 0o600 });
  const auditFile = join(root, 'audit.log');
  const at = (t: number) => () => t;

  const r = io();
  assert.equal(await keysRotate(['--key', key, '--audit-log', auditFile], r, at(T0)), 0, r.err());
  assert.match(r.out(), /^staged: key ([\w-]{43}) \(RS256\) published now, signing from 2027-05-03T03:00:00.000Z \(/);
  assert.match(r.out(), /previous key [\w-]{43} stays published until 2027-05-05T03:00:00.000Z/);
  assert.equal(r.err(), '', 'the defaults need no warning');
  const kid = /staged: key ([\w-]{43})/.exec(r.out())![1]!;
  const staged = JSON.parse(readFileSync(auditFile, 'utf8').trim()) as Record<string, string>;
  assert.deepEqual(
    [staged.event, staged.outcome, staged.actor, staged.kid, staged.activateAt],
    ['signing_key_staged', 'ok', 'cli', kid, '2027-05-03T03:00:00.000Z'],
  );

  const s = io();
  assert.equal(await keysStatus(['--key', key], s, at(T0 + DAY)), 0, s.err());
  const lines = s.out().trim().split('\n');
  assert.equal(lines[0], dir);
  assert.match(lines[1]!, /^STATE\s+KID\s+ALG\s+ACTIVATION\s+RETIRE\s+FILE$/);
  assert.match(lines[2]!, /^current\s+[\w-]{43}\s+RS256\s+2027-05-01T03:00:00.000Z\s+2027-05-05T03:00:00.000Z\s+signing.key$/);
  assert.match(lines[3]!, new RegExp(`^next\\s+${kid}\\s+RS256\\s+2027-05-03T03:00:00.000Z\\s+-\\s+signing.20270503T030000Z.${kid.slice(0, 12)}.key$`));
  assert.equal(lines[4], 'next change: 2027-05-03T03:00:00.000Z');
  const j = io();
  assert.equal(await keysStatus(['--key', key, '--json'], j, at(T0 + 3 * DAY)), 0);
  assert.deepEqual(
    (JSON.parse(j.out()) as { keys: { state: string }[] }).keys.map((k) => k.state),
    ['previous', 'current'],
  );

  const again = io();
  assert.equal(await keysRotate(['--key', key, '--audit-log', auditFile], again, at(T0 + DAY)), 0);
  assert.match(again.out(), new RegExp(`^unchanged: key ${kid} is already staged, active from 2027-05-03T03:00:00.000Z`));

  const e = io();
  assert.equal(
    await keysRotate(['--key', key, '--emergency', '--reason', 'key copied to a laptop', '--audit-log', auditFile], e, at(T0 + DAY + 5)),
    0,
    e.err(),
  );
  assert.match(e.out(), /^emergency: key ([\w-]{43}) is current now; revoked /);
  const records = readFileSync(auditFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  assert.deepEqual(
    records.slice(1).map((x) => [x.event, x.reason ?? '']),
    [
      ['signing_key_revoked', 'key copied to a laptop'],
      ['signing_key_revoked', 'key copied to a laptop'],
      ['signing_key_staged', ''],
    ],
  );
  const ring = parseKeyring(readFileSync(join(dir, 'signing.keyring.json'), 'utf8'));
  assert.equal(ring.revoked.length, 2);
  assert.ok(ring.revoked.some((x) => x.kid === kid));
  const after = io();
  assert.equal(await keysStatus(['--key', key], after, at(T0 + DAY + 10)), 0);
  assert.match(after.out(), new RegExp(`revoked  ${kid}  at 2027-05-02T03:00:00.005Z: key copied to a laptop`));
  assert.match(after.out(), /no next key staged/);
});

test('keys rotate refuses unsafe or contradictory options (exit 2), warns under a day', async () => {
  const dir = join(root, 'floors');
  mkdirSync(dir);
  const key = join(dir, 'hub.key');
  writeFileSync(key, pkcs8());
  const run = async (...args: string[]) => {
    const x = io();
    return { code: await keysRotate(['--key', key, '--audit-log', 'off', ...args], x, () => T0), err: x.err(), out: x.out() };
  };
  for (const [args, msg] of [
    [['--publish-ahead', '5m'], /at least 10 minutes ahead/],
    [['--activate-at', '2027-05-01T03:05:00Z'], /at least 10 minutes ahead/],
    [['--activate-at', 'soon'], /not an ISO 8601 time/],
    [['--retain', '1m'], /--retain must be at least 10m/],
    [['--activate-at', '2027-06-01T00:00:00Z', '--publish-ahead', '3d'], /not both/],
    [['--emergency', '--publish-ahead', '3d'], /activates now/],
    [['--reason', 'x'], /goes with --emergency/],
    [['--alg', 'HS256'], /RS256 or ES256/],
    [['--bogus'], /Unknown option/],
  ] as const) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, msg);
    assert.match(r.err, /usage: switchguard keys rotate/);
  }
  const noKey = io();
  assert.equal(await keysRotate([], noKey), 2);
  assert.match(noKey.err(), /--key is required/);
  const short = await run('--publish-ahead', '2h', '--retain', '12h', '--alg', 'ES256');
  assert.equal(short.code, 0);
  assert.match(short.err, /warning: the activation is less than a day ahead/);
  assert.match(short.err, /warning: the previous key is retained for less than a day/);
  assert.match(short.out, /\(ES256\) published now, signing from 2027-05-01T05:00:00.000Z/);
  const missing = io();
  assert.equal(await keysRotate(['--key', join(dir, 'nope', 'x.key')], missing, () => T0), 1);
  assert.match(missing.err(), /keys rotate failed: no signing key: neither x.keyring.json nor x.key exists/);
});

/** The Secret endpoint of a Kubernetes API server: GET, and PUT with optimistic concurrency on resourceVersion. */
async function startSecretApi(initial: Record<string, string>) {
  let secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'switchguard-jws-signing', namespace: 'sg', resourceVersion: '1', uid: 'u1' },
    type: 'Opaque',
    data: initial,
  };
  const calls: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      const send = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url !== '/api/v1/namespaces/sg/secrets/switchguard-jws-signing') return send(404, { kind: 'Status', message: 'secrets "x" not found' });
      if (req.headers.authorization !== 'Bearer sa-token') return send(401, { kind: 'Status', message: 'Unauthorized' });
      if (req.method === 'GET') return send(200, secret);
      const body = JSON.parse(Buffer.concat(chunks).toString()) as typeof secret;
      if (body.metadata.resourceVersion !== secret.metadata.resourceVersion)
        return send(409, { kind: 'Status', message: 'the object has been modified; please apply your changes to the latest version and try again' });
      secret = { ...body, metadata: { ...body.metadata, resourceVersion: String(Number(secret.metadata.resourceVersion) + 1) } };
      return send(200, secret);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    secret: () => secret,
    bump: () => {
      secret = { ...secret, metadata: { ...secret.metadata, resourceVersion: String(Number(secret.metadata.resourceVersion) + 1) } };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('the Kubernetes Secret store: one GET, one PUT of the whole keyring with the resourceVersion read; 409 writes nothing', async (t) => {
  const pem = pkcs8();
  const api = await startSecretApi({ 'signing.key': Buffer.from(pem).toString('base64') });
  t.after(() => api.close());
  const kube = { url: api.url, token: 'sa-token', namespace: 'sg' };
  const store = await secretKeyStore(kube, 'switchguard-jws-signing');
  const r = await rotateSigningKey(store, { keyFile: 'signing.key', now: T0 });
  await store.close();
  assert.equal(r.outcome, 'staged');
  assert.deepEqual(api.calls, [
    'GET /api/v1/namespaces/sg/secrets/switchguard-jws-signing Bearer sa-token',
    'PUT /api/v1/namespaces/sg/secrets/switchguard-jws-signing Bearer sa-token',
  ]);
  const data = api.secret().data;
  assert.deepEqual(Object.keys(data).sort(), ['signing.key', `signing.20270503T030000Z.${r.kid.slice(0, 12)}.key`, 'signing.keyring.json'].sort());
  assert.equal(Buffer.from(data['signing.key']!, 'base64').toString(), pem, 'the current key stays');
  const ring = parseKeyring(Buffer.from(data['signing.keyring.json']!, 'base64').toString());
  assert.deepEqual(
    statesAt(ring, T0).map((k) => k.state),
    ['current', 'next'],
  );
  assert.equal(api.secret().metadata.uid, 'u1', 'the object is updated, not recreated');

  // Someone else changed the Secret between the read and the write: refused, nothing written.
  const racing = await secretKeyStore(kube, 'switchguard-jws-signing');
  api.bump();
  await assert.rejects(
    rotateSigningKey(racing, { keyFile: 'signing.key', now: T0 + 40 * DAY }),
    /changed since it was read \(409 Conflict\); nothing was written/,
  );
  await racing.close();
  assert.deepEqual(api.secret().data, data);

  await assert.rejects(secretKeyStore({ ...kube, token: 'wrong' }, 'switchguard-jws-signing'), /HTTP 401 Unauthorized/);
  await assert.rejects(secretKeyStore(kube, 'other'), /HTTP 404 secrets "x" not found/);
});

test('in-cluster API access from the pod environment and the service-account files', () => {
  const sa = join(root, 'sa');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), 'tok\n');
  writeFileSync(join(sa, 'ca.crt'), 'PEM\n');
  writeFileSync(join(sa, 'namespace'), 'switchguard\n');
  assert.deepEqual(inClusterApi({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '6443' }, undefined, sa), {
    url: 'https://10.0.0.1:6443',
    token: 'tok',
    ca: 'PEM',
    namespace: 'switchguard',
  });
  assert.equal(inClusterApi({ KUBERNETES_SERVICE_HOST: 'fd00::1' }, 'other', sa).url, 'https://[fd00::1]:443');
  assert.equal(inClusterApi({ KUBERNETES_SERVICE_HOST: 'fd00::1' }, 'other', sa).namespace, 'other');
  assert.throws(() => inClusterApi({}, undefined, sa), /not in a Kubernetes pod/);
});
