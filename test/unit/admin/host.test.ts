// The admin listener's Host check (src/admin/host.ts): IP literals, localhost and listed names pass; anything a
// page could rebind to the listener does not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALLOWED_HOST_RE, adminHostAllowed } from '../../../src/admin/host.js';

const allowed = ['switchguard-admin', '.svc.cluster.local'];

test('IP literals, localhost and listed names are served, with or without a port', () => {
  for (const host of [
    undefined,
    '127.0.0.1',
    '127.0.0.1:9464',
    '10.1.2.3:9464',
    '[::1]',
    '[::1]:9464',
    '[fe80::1]:80',
    'localhost',
    'LocalHost:9464',
    'localhost.',
    'switchguard-admin',
    'SWITCHGUARD-ADMIN:9464',
    'switchguard-admin.',
    'sg.ns.svc.cluster.local:9464',
  ])
    assert.equal(adminHostAllowed(host, allowed), true, String(host));
});

test('names a page could rebind, malformed hosts and look-alikes are refused', () => {
  for (const host of [
    '',
    ':9464',
    'attacker.example',
    'rebind.attacker.example:9464',
    '127.0.0.1.nip.io',
    'localhost.attacker.example',
    'svc.cluster.local',
    'x.svc.cluster.local.attacker.example',
    'switchguard-admin.attacker.example',
    'xswitchguard-admin',
    '2130706433',
    '0x7f000001',
    '[::1',
    '[::1]x',
    '[127.0.0.1]',
    '127.0.0.1:9464:1',
    'user@127.0.0.1',
  ])
    assert.equal(adminHostAllowed(host, allowed), false, host);
  assert.equal(adminHostAllowed('switchguard-admin', []), false, 'nothing listed: names are refused');
});

test('ADMIN_ALLOWED_HOSTS entries: host names or suffixes starting with a dot', () => {
  for (const ok of ['switchguard-admin', 'a.b.c', '.svc', '.svc.cluster.local', 'x1']) assert.match(ok, ALLOWED_HOST_RE);
  for (const bad of ['', '.', '*.svc', 'a..b', '-a', 'a-', 'a b', 'a:9464', '[::1]', 'a/b']) assert.doesNotMatch(bad, ALLOWED_HOST_RE, bad);
});
