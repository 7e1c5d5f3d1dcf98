// The peer directory's jwksUrl (src/peers/directory.ts): an https URL per peer, a source of its verification
// keys; an entry may give only a jwksUrl (a peer whose traffic goes through PEER_ENDPOINT).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PeerDirectory, parsePeerDirectory } from '../../../src/peers/directory.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-peers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('jwksUrl: https only; an entry with only a jwksUrl routes through PEER_ENDPOINT', () => {
  const m = parsePeerDirectory(
    'dfsp1:\n  endpoint: https://dfsp1.example/fspiop\n  jwksUrl: https://dfsp1.example/.well-known/jwks.json\ndfsp2:\n  jwksUrl: https://keys.example/dfsp2.json\ndfsp3: http://dfsp3.example\n',
  );
  assert.equal(m.get('dfsp1')?.jwksUrl?.href, 'https://dfsp1.example/.well-known/jwks.json');
  assert.equal(m.get('dfsp2')?.endpoint, undefined);
  assert.equal(m.get('dfsp3')?.jwksUrl, undefined);
  for (const bad of ['dfsp1: {jwksUrl: "http://plain.example/jwks.json"}', 'dfsp1: {jwksUrl: 42}', 'dfsp1: {jwksUrl: "https://"}', 'dfsp1: {ilpVersion: 4}'])
    assert.throws(() => parsePeerDirectory(bad), /^Error: peer directory: dfsp1/, bad);
  // Credentials in a URL are refused and never echoed (review of 2026-12-01).
  for (const bad of [
    'dfsp1: https://u:s3cret@dfsp1.example/',
    'dfsp1: {jwksUrl: "https://u:s3cret@keys.example/j.json"}',
    'dfsp1: {endpoint: "http://s3cret@dfsp1.example"}',
  ])
    assert.throws(
      () => parsePeerDirectory(bad),
      (e: Error) =>
        e.message === 'peer directory: dfsp1 URL carries credentials (user:password@); they are not taken from a URL' && !e.message.includes('s3cret'),
      bad,
    );

  const path = join(dir, 'peers.yaml');
  writeFileSync(path, 'dfsp2:\n  jwksUrl: https://keys.example/dfsp2.json\n  ilpVersion: 4\n');
  const d = new PeerDirectory(path, 'https://hub.example/');
  assert.equal(d.resolve('dfsp2').endpoint.href, 'https://hub.example/');
  assert.equal(d.resolve('dfsp2').ilpVersion, '4');
  assert.deepEqual(
    [...d.jwksUrls()].map(([id, u]) => [id, u.href]),
    [['dfsp2', 'https://keys.example/dfsp2.json']],
  );
  assert.deepEqual(d.list(), [{ fspId: 'dfsp2', endpoint: null, ilpVersion: '4', jwksUrl: 'https://keys.example/dfsp2.json' }]);
  assert.throws(() => new PeerDirectory(path, undefined).resolve('dfsp2'), /GW_DESTINATION_UNKNOWN|No route/);

  let reloads = 0;
  d.subscribe(() => reloads++);
  writeFileSync(path, 'dfsp2: {endpoint: "https://dfsp2.example"}\n');
  d.reload();
  assert.equal(reloads, 1);
  assert.equal(d.jwksUrls().size, 0, 'a jwksUrl removed from the file is gone');
  writeFileSync(path, 'dfsp2: {jwksUrl: "http://downgraded.example"}\n');
  d.reload();
  assert.equal(reloads, 1, 'a refused file does not notify');
  assert.equal(d.resolve('dfsp2').endpoint.href, 'https://dfsp2.example/');
});
