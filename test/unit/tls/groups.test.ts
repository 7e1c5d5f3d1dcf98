// TLS_GROUPS resolution (src/tls/groups.ts) and the negotiated-group labels (src/tls/negotiated-group.ts). The
// runtime-facing tests branch on feature detection (runtimeSupportsGroups), never on a version string: on a runtime
// with the hybrid (Node 24, OpenSSL 3.5) they check it is used, on one without (Node 20, OpenSSL 3.0) the fallback.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer, connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import {
  DEFAULT_TLS_GROUPS,
  describeTlsGroups,
  HYBRID,
  resolveTlsGroups,
  runtimeSupportsGroups,
  TLS_GROUP_NAMES,
  type TlsGroups,
} from '../../../src/tls/groups.js';
import { clientNegotiatedGroup, serverNegotiatedGroup, sessionKexGroup } from '../../../src/tls/negotiated-group.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';

const hybrid = runtimeSupportsGroups(HYBRID);
const versions = { node: 'v0.0.0-test', openssl: '9.9.9-test' };
/** A pretend runtime with exactly these groups (names compared case-insensitively, a ':' list when all are in). */
const runtimeWith = (...groups: string[]) => ({
  versions,
  supports: (names: string) => names.split(':').every((n) => groups.some((g) => g.toLowerCase() === n.toLowerCase())),
});
const resolved = (r: ReturnType<typeof resolveTlsGroups>): TlsGroups => {
  if ('problem' in r) assert.fail(r.problem);
  return r.groups;
};
const problem = (r: ReturnType<typeof resolveTlsGroups>): string => {
  if (!('problem' in r)) assert.fail(`expected a problem, resolved to ${r.groups.ecdhCurve}`);
  return r.problem;
};

describe('TLS_GROUPS resolution', () => {
  test('default on this runtime: the hybrid first where OpenSSL has it, else the classic groups and a line saying so', () => {
    const g = resolved(resolveTlsGroups(undefined));
    assert.equal(g.configured, false);
    assert.equal(g.hybridAvailable, hybrid);
    assert.equal(g.runtime.openssl, process.versions.openssl);
    if (hybrid) {
      assert.deepEqual(g.names, DEFAULT_TLS_GROUPS);
      // key shares for the hybrid and for X25519 (keyShareList): a classic-only server answers without a retry
      assert.equal(g.ecdhCurve, '*X25519MLKEM768:*X25519:P-256:P-384');
      assert.deepEqual(g.unavailable, []);
      assert.match(
        describeTlsGroups(g),
        /^TLS groups X25519MLKEM768:X25519:P-256:P-384 \(default; post-quantum X25519MLKEM768 in use; Node v\S+, OpenSSL \S+\)$/,
      );
    } else {
      assert.equal(g.ecdhCurve, 'X25519:P-256:P-384');
      assert.deepEqual(g.unavailable, [HYBRID]);
      assert.match(
        describeTlsGroups(g),
        /^TLS groups X25519:P-256:P-384 \(default; post-quantum X25519MLKEM768 unavailable in this runtime, left out; Node v\S+, OpenSSL \S+\)$/,
      );
    }
    // whatever the runtime, the resolved list builds a context (it is what every endpoint is given)
    assert.ok(runtimeSupportsGroups(g.ecdhCurve));
  });

  test('default: whatever the runtime lacks is left out silently, order kept', () => {
    const old = resolved(resolveTlsGroups(undefined, runtimeWith('X25519', 'P-256', 'P-384', 'X448')));
    assert.deepEqual(old.names, ['X25519', 'P-256', 'P-384']);
    assert.deepEqual(old.unavailable, ['X25519MLKEM768']);
    assert.equal(
      describeTlsGroups(old),
      'TLS groups X25519:P-256:P-384 (default; post-quantum X25519MLKEM768 unavailable in this runtime, left out; Node v0.0.0-test, OpenSSL 9.9.9-test)',
    );
    const fips = resolved(resolveTlsGroups(undefined, runtimeWith('P-256', 'P-384'))); // a FIPS build has no X25519
    assert.equal(fips.ecdhCurve, 'P-256:P-384');
    const none = problem(resolveTlsGroups(undefined, runtimeWith('X448')));
    assert.match(none, /supports none of the default groups X25519MLKEM768:X25519:P-256:P-384; set TLS_GROUPS/);
  });

  test('configured: used as written, in full; ":" or "," between names', () => {
    const g = resolved(resolveTlsGroups('P-384 : x25519,prime256v1', runtimeWith('P-384', 'X25519', 'prime256v1')));
    assert.deepEqual(g.names, ['P-384', 'x25519', 'prime256v1']);
    assert.equal(g.ecdhCurve, 'P-384:x25519:prime256v1');
    assert.equal(g.configured, true);
    assert.equal(
      describeTlsGroups(g),
      'TLS groups P-384:x25519:prime256v1 (TLS_GROUPS; no post-quantum group in the list, X25519MLKEM768 unavailable in this runtime; Node v0.0.0-test, OpenSSL 9.9.9-test)',
    );
    const pq = resolved(resolveTlsGroups('X25519MLKEM768:X25519', runtimeWith('X25519MLKEM768', 'X25519')));
    assert.equal(
      describeTlsGroups(pq),
      'TLS groups X25519MLKEM768:X25519 (TLS_GROUPS; post-quantum X25519MLKEM768 in use; Node v0.0.0-test, OpenSSL 9.9.9-test)',
    );
  });

  test("key shares: a list led by a post-quantum group marks it and the first classic group, where OpenSSL takes '*'", () => {
    const marks = {
      versions,
      supports: (names: string) => names.split(':').every((n) => ['X25519MLKEM768', 'MLKEM768', 'X25519', 'P-256', 'P-384'].includes(n.replace(/^\*/, ''))),
    };
    const list = (v: string | undefined) => resolved(resolveTlsGroups(v, marks)).ecdhCurve;
    assert.equal(list(undefined), '*X25519MLKEM768:*X25519:P-256:P-384');
    assert.equal(list('X25519MLKEM768:MLKEM768:P-384:X25519'), '*X25519MLKEM768:MLKEM768:*P-384:X25519');
    assert.equal(list('X25519:X25519MLKEM768'), 'X25519:X25519MLKEM768', 'led by a classic group: as written');
    assert.equal(list('X25519MLKEM768:MLKEM768'), 'X25519MLKEM768:MLKEM768', 'no classic group: as written');
    assert.equal(list('P-256:P-384'), 'P-256:P-384');
    // a runtime without the marks (OpenSSL 3.0) gets the plain list
    assert.equal(resolved(resolveTlsGroups('X25519MLKEM768:X25519', runtimeWith('X25519MLKEM768', 'X25519'))).ecdhCurve, 'X25519MLKEM768:X25519');
    const g = resolved(resolveTlsGroups(undefined, marks));
    assert.match(describeTlsGroups(g), /^TLS groups X25519MLKEM768:X25519:P-256:P-384 \(default;/, 'the banner names the groups, not the marks');
  });

  test('configured: a group the runtime lacks, or a misspelt one, is one problem line naming it', () => {
    assert.equal(
      problem(resolveTlsGroups('X25519MLKEM768:X25519:P-256', runtimeWith('X25519', 'P-256'))),
      'this runtime (Node v0.0.0-test, OpenSSL 9.9.9-test) cannot use X25519MLKEM768 (ML-KEM needs OpenSSL 3.5 or later, as in Node 24); remove it, or unset TLS_GROUPS for the default, which leaves out what the runtime lacks',
    );
    assert.equal(
      problem(resolveTlsGroups('X25519:X25519MLKEM786', runtimeWith('X25519', 'X25519MLKEM768'))),
      'this runtime (Node v0.0.0-test, OpenSSL 9.9.9-test) cannot use X25519MLKEM786 (not a group name this OpenSSL knows: misspelt?); remove it, or unset TLS_GROUPS for the default, which leaves out what the runtime lacks',
    );
    const both = problem(resolveTlsGroups('Bogus:X448:P-256', runtimeWith('P-256')));
    assert.match(both, /cannot use Bogus \(not a group name this OpenSSL knows: misspelt\?\), X448 \(not offered by this OpenSSL\); remove them,/);
    assert.equal(both.split('\n').length, 1);
  });

  test('configured: not a list of plain names, or a group named twice, is refused before the runtime is asked', () => {
    const asked: string[] = [];
    const spy = {
      versions,
      supports: (n: string) => {
        asked.push(n);
        return true;
      },
    };
    for (const [value, want] of [
      ['?X25519MLKEM768:X25519', /'\?X25519MLKEM768' is not a group name/],
      ['X25519MLKEM768/X25519', /'X25519MLKEM768\/X25519' is not a group name/],
      ['*X25519:-P-256', /'\*X25519', '-P-256' are not group names/],
      ['auto', /'auto' is not a group name .*unset TLS_GROUPS for the default/],
      [' : , ', /expected group names separated by ":"/],
      ['P-256:X25519:prime256v1', /^prime256v1 names the same group as P-256; name each group once$/],
      ['x25519:X25519', /^X25519 names the same group as x25519/],
      ['Foo:foo', /^foo names the same group as Foo/],
    ] as const) {
      assert.match(problem(resolveTlsGroups(value, spy)), want, value);
    }
    assert.deepEqual(asked, []);
  });

  test('configured on this runtime: the hybrid is used where OpenSSL has it, and stops start-up where it does not', () => {
    const r = resolveTlsGroups('X25519MLKEM768:P-256');
    if (hybrid) assert.equal(resolved(r).ecdhCurve, '*X25519MLKEM768:*P-256');
    else assert.match(problem(r), /^this runtime \(Node v\S+, OpenSSL \S+\) cannot use X25519MLKEM768 \(ML-KEM needs OpenSSL 3\.5 or later, as in Node 24\);/);
    assert.match(problem(resolveTlsGroups('X25519:P-265')), /cannot use P-265 \(not a group name this OpenSSL knows: misspelt\?\); remove it,/);
  });
});

describe('sessionKexGroup', () => {
  // SEQUENCE { INTEGER 1, [19] { INTEGER id } } with the field last, as OpenSSL writes it
  const session = (id: number[], extra: number[] = []) =>
    Uint8Array.from([0x30, 3 + extra.length + 4 + id.length, 0x02, 0x01, 0x01, ...extra, 0xb3, 2 + id.length, 0x02, id.length, ...id]);

  test('reads the code point of [19], skipping the fields before it', () => {
    assert.equal(sessionKexGroup(session([0x1d])), 29);
    assert.equal(sessionKexGroup(session([0x11, 0xec])), 0x11ec);
    assert.equal(sessionKexGroup(session([0x00, 0x80, 0x00])), 0x8000);
    assert.equal(sessionKexGroup(session([0x17], [0xa4, 0x04, 0x04, 0x02, 0xaa, 0xbb])), 23);
    // long-form lengths
    const long = Uint8Array.from([0x30, 0x81, 0x88, 0x04, 0x81, 0x80, ...new Array(0x80).fill(7), 0xb3, 0x03, 0x02, 0x01, 0x18]);
    assert.equal(sessionKexGroup(long), 24);
  });

  test('anything else is undefined, never a read past the end', () => {
    assert.equal(sessionKexGroup(Uint8Array.from([])), undefined);
    assert.equal(sessionKexGroup(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01])), undefined); // no [19]
    assert.equal(sessionKexGroup(session([0x1d]).subarray(0, 9)), undefined); // truncated
    assert.equal(sessionKexGroup(Uint8Array.from([0x31, 0x05, 0xb3, 0x03, 0x02, 0x01, 0x1d])), undefined); // not a SEQUENCE
    assert.equal(sessionKexGroup(Uint8Array.from([0x30, 0x05, 0xb3, 0x03, 0x04, 0x01, 0x1d])), undefined); // not an INTEGER
    assert.equal(sessionKexGroup(Uint8Array.from([0x30, 0x05, 0xb3, 0x09, 0x02, 0x01, 0x1d])), undefined); // [19] overruns
    assert.equal(sessionKexGroup(Uint8Array.from([0x30, 0x85, 1, 0, 0, 0, 0])), undefined); // 5-byte length
    assert.equal(sessionKexGroup(Buffer.from('\0nodejs:session')), undefined);
  });
});

describe('negotiated group, both sides of a real handshake', () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });
  after(() => pki.cleanup());

  /** One handshake; both sides' labels and the client's getEphemeralKeyInfo(). */
  const handshake = async (server: { ecdhCurve: string }, client: { ecdhCurve?: string; maxVersion?: 'TLSv1.2' }) => {
    const srv: Server = createServer({ cert: readFileSync(pki.serverCertPath), key: readFileSync(pki.serverKeyPath), ...server }, (s) => s.end());
    // the server's handshake ends after the client's (TLS 1.3: the client's Finished comes last)
    const serverLabel = new Promise<string>((resolve) => srv.once('secureConnection', (s: TLSSocket) => resolve(serverNegotiatedGroup(s))));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as { port: number }).port;
      const c = await new Promise<TLSSocket>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, ca: pki.ca.certPem, servername: 'localhost', ...client }, () => resolve(s));
        s.on('error', reject);
      });
      const out = { client: clientNegotiatedGroup(c), info: c.getEphemeralKeyInfo() as { type?: string; name?: string }, protocol: c.getProtocol() };
      const server = await serverLabel;
      c.destroy();
      return { ...out, server };
    } finally {
      srv.close();
    }
  };

  test("a socket closed in an earlier 'secureConnection' listener has no session: 'unknown', no throw", async () => {
    const srv: Server = createServer({ cert: readFileSync(pki.serverCertPath), key: readFileSync(pki.serverKeyPath) }, (s) => s.end());
    srv.prependListener('secureConnection', (s: TLSSocket) => s.destroy());
    const label = new Promise<string>((resolve) => srv.once('secureConnection', (s: TLSSocket) => resolve(serverNegotiatedGroup(s))));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const c = connect({ host: '127.0.0.1', port: (srv.address() as { port: number }).port, ca: pki.ca.certPem, servername: 'localhost' });
      c.on('error', () => {});
      assert.equal(await label, 'unknown');
      c.destroy();
    } finally {
      srv.close();
    }
  });

  test('every group of the table this runtime has: the server (session kex_group) and the client (getEphemeralKeyInfo) agree on its name', async () => {
    const here = TLS_GROUP_NAMES.filter((n) => runtimeSupportsGroups(n));
    assert.ok(here.includes('X25519') && here.includes('P-256') && here.includes('P-384'), here.join(','));
    assert.equal(here.includes(HYBRID), hybrid);
    const tls12Only = new Set(['brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1']); // RFC 8446 4.2.7: not for TLS 1.3
    for (const name of here) {
      const r = await handshake({ ecdhCurve: name }, { ecdhCurve: name, ...(tls12Only.has(name) ? { maxVersion: 'TLSv1.2' as const } : {}) });
      assert.equal(r.server, name, `${name}: server side (${r.protocol})`);
      assert.equal(r.client, name, `${name}: client side (${JSON.stringify(r.info)})`);
    }
  });

  test('the default list against a hybrid-capable client: X25519MLKEM768 where the runtime has it, X25519 elsewhere', async () => {
    const g = resolved(resolveTlsGroups(undefined));
    const r = await handshake({ ecdhCurve: g.ecdhCurve }, { ecdhCurve: g.ecdhCurve });
    if (hybrid) {
      assert.deepEqual({ type: r.info.type, name: r.info.name }, { type: 'TLSGroup', name: 'X25519MLKEM768' });
      assert.deepEqual([r.client, r.server], ['X25519MLKEM768', 'X25519MLKEM768']);
    } else {
      assert.deepEqual({ type: r.info.type, name: r.info.name }, { type: 'ECDH', name: 'X25519' });
      assert.deepEqual([r.client, r.server], ['X25519', 'X25519']);
    }
  });

  // SHA-256("HelloRetryRequest"): the random of a HelloRetryRequest, a ServerHello asking for another key share (RFC 8446 4.1.3)
  const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
  /** A handshake through a TCP relay that reads the server's plaintext records: the HelloRetryRequests it sent, and the group. */
  const retries = async (serverCurve: string, clientCurve: string) => {
    const srv: Server = createServer({ cert: readFileSync(pki.serverCertPath), key: readFileSync(pki.serverKeyPath), ecdhCurve: serverCurve }, (s) => s.end());
    let fromServer = Buffer.alloc(0);
    const relay = createNetServer((down) => {
      const up = netConnect((srv.address() as AddressInfo).port, '127.0.0.1');
      up.on('data', (d: Buffer) => {
        fromServer = Buffer.concat([fromServer, d]);
      });
      for (const [a, b] of [
        [down, up],
        [up, down],
      ] as const) {
        a.pipe(b);
        a.on('error', () => b.destroy());
      }
    });
    for (const s of [srv, relay]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    try {
      const group = await new Promise<string>((resolve, reject) => {
        const c = connect(
          { host: '127.0.0.1', port: (relay.address() as AddressInfo).port, ca: pki.ca.certPem, servername: 'localhost', ecdhCurve: clientCurve },
          () => {
            resolve(clientNegotiatedGroup(c));
            c.destroy();
          },
        );
        c.on('error', reject);
      });
      let count = 0;
      // TLS records: type, version (2), length (2); a ServerHello handshake message: type 2, length (3), version (2), random (32)
      for (let at = 0; at + 5 <= fromServer.length; at += 5 + fromServer.readUInt16BE(at + 3)) {
        const body = fromServer.subarray(at + 5, at + 5 + fromServer.readUInt16BE(at + 3));
        if (fromServer[at] === 22 && body[0] === 2 && body.subarray(6, 38).equals(HRR_RANDOM)) count++;
      }
      return { count, group };
    } finally {
      relay.close();
      srv.close();
    }
  };

  test('key shares: the default reaches an X25519-only server (an OpenSSL 3.0 peer) without a HelloRetryRequest', async () => {
    const g = resolved(resolveTlsGroups(undefined));
    assert.deepEqual(await retries('X25519', g.ecdhCurve), { count: 0, group: 'X25519' });
    // what the marks save: a plain list led by a group the server lacks costs a retry (the relay sees it)
    const plain = hybrid ? 'X25519MLKEM768:X25519:P-256:P-384' : 'P-384:X25519';
    assert.deepEqual(await retries('X25519', plain), { count: 1, group: 'X25519' });
    // a server with neither shared key share (P-384 only) asks once, then agrees
    assert.deepEqual(await retries('P-384', g.ecdhCurve), { count: 1, group: 'P-384' });
    if (hybrid) assert.deepEqual(await retries(g.ecdhCurve, g.ecdhCurve), { count: 0, group: HYBRID });
  });

  test('classic-only clients still connect to the default list: X25519, P-256, and TLS 1.2', async () => {
    const g = resolved(resolveTlsGroups(undefined));
    const x = await handshake({ ecdhCurve: g.ecdhCurve }, { ecdhCurve: 'X25519' });
    assert.deepEqual([x.client, x.server, x.protocol], ['X25519', 'X25519', 'TLSv1.3']);
    const p = await handshake({ ecdhCurve: g.ecdhCurve }, { ecdhCurve: 'P-256' });
    assert.deepEqual([p.client, p.server, p.info.name], ['P-256', 'P-256', 'prime256v1']);
    const old = await handshake({ ecdhCurve: g.ecdhCurve }, { maxVersion: 'TLSv1.2' });
    assert.equal(old.protocol, 'TLSv1.2');
    assert.equal(old.server, old.client);
    assert.ok(['X25519', 'P-256', 'P-384'].includes(old.server), old.server);
  });
});
