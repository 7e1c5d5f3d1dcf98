// `switchguard keys revoke | unrevoke | revocations` against a real admin app (src/admin/app.ts) with real
// revocations over the memory store, served on a loopback port.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { serve } from '@hono/node-server';
import { buildAdminApp } from '../../../src/admin/app.js';
import { keysAdminCommand } from '../../../src/cli/keys-admin.js';
import type { PeerKeyListing } from '../../../src/jws/peer-keys.js';
import { KeyRevocations } from '../../../src/jws/revocations.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { cliIo } from '../../helpers/cli-io.js';
import { makeTestPki } from '../../helpers/pki.js';

const OPERATOR = 'cli-operator-token-0123456789';
const VIEWER = 'cli-viewer-token-0123456789ab';
const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const FP = createHash('sha256')
  .update(key.export({ type: 'spki', format: 'der' }))
  .digest('hex');
const listing: PeerKeyListing = { fspId: 'dfsp1', source: 'file', label: '', fingerprint: FP, thumbprint: null, notAfter: undefined };
const revocations = new KeyRevocations({ store: createMemoryStore({ maxEntries: 100 }) });
const app = buildAdminApp({
  adminToken: OPERATOR,
  tokens: new (await import('../../../src/admin/tokens.js')).AdminTokens({ adminTokens: `operator:${OPERATOR},viewer:${VIEWER}` }),
  peerKeys: { find: async (ref) => (ref.kind === 'spki' && ref.value === FP ? [listing] : []), sources: () => [] },
  revocations,
});
const pki = makeTestPki();
let url = '';
let server: ReturnType<typeof serve>;
before(async () => {
  server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  pki.cleanup();
});

const io = () => cliIo();

test('revoke, list and unrevoke through the admin API; refusals are clear and exit 1; bad usage exits 2', async () => {
  const env = { ADMIN_TOKEN: OPERATOR };
  let x = io();
  assert.equal(await keysAdminCommand('revoke', [FP.toUpperCase(), '--reason', 'leaked in a ticket', '--admin-url', url], x, env), 0, x.err());
  assert.match(x.out(), new RegExp(`^revoked: ${FP} \\(dfsp1\\)`));
  assert.equal(revocations.get(FP)?.reason, 'leaked in a ticket');

  x = io();
  assert.equal(await keysAdminCommand('revocations', ['--admin-url', url], x, env), 0);
  assert.match(x.out(), new RegExp(`^${FP}  dfsp1  \\S+  leaked in a ticket$`, 'm'));

  x = io();
  assert.equal(await keysAdminCommand('revoke', ['0'.repeat(64), '--reason', 'r', '--admin-url', url], x, env), 1);
  assert.match(x.err(), /HTTP 404 .*no key of any source/);

  const viewerFile = pki.write('viewer.token', `${VIEWER}\n`);
  x = io();
  assert.equal(await keysAdminCommand('unrevoke', [FP, '--reason', 'r', '--admin-url', url, '--token-file', viewerFile], x, {}), 1);
  assert.match(x.err(), /HTTP 403/);

  x = io();
  assert.equal(await keysAdminCommand('unrevoke', [FP, '--reason', 'false alarm', '--admin-url', url], x, env), 0, x.err());
  assert.equal(revocations.get(FP), undefined);

  for (const argv of [[FP], ['--reason', 'r'], [FP, 'extra', '--reason', 'r'], [FP, '--reason', 'r', '--token', OPERATOR]]) {
    x = io();
    assert.equal(await keysAdminCommand('revoke', [...argv, '--admin-url', url], x, env), 2, argv.join(' '));
    assert.match(x.err(), /usage: switchguard keys revoke/);
  }
  x = io();
  assert.equal(await keysAdminCommand('revocations', ['--admin-url', url], x, {}), 2, 'no token');
  x = io();
  writeFileSync(viewerFile, OPERATOR);
  assert.equal(await keysAdminCommand('revocations', ['--admin-url', 'http://127.0.0.1:9', '--token-file', viewerFile], x, {}), 1);
  assert.match(x.err(), /not reachable/);
});
