import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Stages } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/load.js';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { createReplayGuard } from '../../../src/jws/freshness.js';
import { KeyDirectory } from '../../../src/jws/key-directory.js';
import { checkFreshness, signOutbound, verifyInboundJws, verifyOptionsOf, writeReplayRecord } from '../../../src/jws/middleware.js';
import { signRequest } from '../../../src/jws/sign.js';
import { SigningKeyHolder } from '../../../src/jws/signing-key.js';
import { replayGuardOf } from '../../../src/stages.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { NOOP_TELEMETRY, type Telemetry } from '../../../src/telemetry/types.js';
import { makeApp } from '../../helpers/app.js';
import { KEYS, PRIVATE_KEYS, signedTransfer, TRANSFER } from '../../helpers/jws.js';
import { makeTestPki } from '../../helpers/pki.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-jwsmw-'));
writeFileSync(join(dir, 'payerfsp.pem'), KEYS.payerfspPublicKeyPem!);
writeFileSync(join(dir, 'signing.key'), KEYS.payeefspPrivateKeyPem!);
const closers: (() => void)[] = [];
after(() => {
  for (const c of closers) c();
  rmSync(dir, { recursive: true, force: true });
});

const config = (env: Record<string, string> = {}) =>
  loadConfig({
    SWITCHGUARD_PROFILE: 'development',
    GATEWAY_ROLE: 'dfsp',
    DFSP_ID: 'payeefsp',
    HUB_ID: 'hub',
    JWS_VERIFICATION_KEYS_DIRECTORY: dir,
    JWS_SIGNING_KEY_PATH: join(dir, 'signing.key'),
    REPLAY_PROTECTION: 'off',
    ...env,
  });

interface Seen {
  jwsForm?: string;
  body?: Buffer;
  extra?: Record<string, string>;
}

// Headers the gateway itself adds to every forwarded request (not a stage's doing).
const GATEWAY_ADDED = new Set(['content-length', 'host', 'x-client-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port']);

/**
 * The real pipeline in-process (test/helpers/app.ts) with the JWS stages under test in their slots (mTLS,
 * ILP and the configuration's own JWS stages off). `seen` is what reached the upstream last: the body, the
 * headers a stage added, and the signature state the request log recorded.
 */
async function app(slots: Partial<Stages>, listener: 'inbound' | 'outbound' = 'inbound', o: { mtls?: boolean } = {}) {
  const a = await makeApp({
    env: { GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp', HUB_ID: 'hub', INBOUND_MUTUAL_TLS_ENABLED: o.mtls ? 'true' : 'false' },
    listener,
    stages: slots,
  });
  closers.push(() => {
    void a.close();
  });
  a.upstream.answer = () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: Buffer.from('forwarded') });
  let sentHeaders: Record<string, string> = {};
  const seen: Seen = {};
  const request = async (url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; peerCertPem?: string } = {}) => {
    const before = a.upstream.requests.length;
    const logsBefore = a.logs.length;
    const headers: Record<string, string> = {};
    // FSPIOP media types for Accept and Content-Type come from the helper (the pipeline's header checks).
    for (const [k, v] of Object.entries(init.headers ?? {})) if (k !== 'content-type' && k !== 'accept') headers[k] = v;
    if (listener === 'outbound') headers['fspiop-destination'] ??= 'peerfsp'; // outbound routing needs one
    sentHeaders = headers;
    const res = await a.request(init.method ?? 'GET', new URL(url).pathname + new URL(url).search, {
      headers,
      ...(init.body !== undefined ? { body: init.body } : {}),
      ...(init.peerCertPem !== undefined ? { peerCertPem: init.peerCertPem } : {}),
    });
    const log = a.logs.slice(logsBefore).at(-1);
    seen.jwsForm = log?.jwsForm as string | undefined;
    if (a.upstream.requests.length > before) {
      const up = a.upstream.requests.at(-1)!;
      seen.body = up.body;
      seen.extra = {};
      for (const [k, v] of Object.entries(up.headers)) {
        const value = Array.isArray(v) ? v.join(', ') : v;
        if (!GATEWAY_ADDED.has(k) && sentHeaders[k] !== value && !['accept', 'content-type', 'date'].includes(k)) seen.extra[k] = value;
      }
    }
    return res;
  };
  return { app: { request }, seen };
}

const events: Parameters<Telemetry['jwsVerify']>[0][] = [];
const telemetry: Telemetry = { ...NOOP_TELEMETRY, jwsVerify: (e) => events.push(e) };

describe('verifyInboundJws', async () => {
  const keys = await KeyDirectory.open({ dir, watch: false });
  closers.push(() => keys.close());
  const RSA = { key: PRIVATE_KEYS.payerfsp!, alg: ALGORITHMS.RS256 };
  const send = (
    a: { request: (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string | Buffer }) => Promise<Response> },
    r: ReturnType<typeof signedTransfer>,
    init: { method?: string; path?: string; body?: Buffer | string } = {},
  ) => a.request(`http://gw${init.path ?? '/transfers'}`, { method: init.method ?? 'POST', headers: r.headers, body: init.body ?? r.body });

  test('a signed request passes and records the form; a tampered one gets 3105/400 without echo', async () => {
    const { app: a, seen } = await app({ verifyJws: verifyInboundJws({ ...verifyOptionsOf(config()), keys, telemetry }) });
    const r = signedTransfer(RSA, 'payerfsp');
    const ok = await send(a, r);
    assert.equal(ok.status, 200);
    assert.equal(seen.jwsForm, 'raw');
    assert.deepEqual(events.at(-1), { source: 'payerfsp', outcome: 'ok', form: 'raw', seconds: events.at(-1)!.seconds });
    const bad = await send(a, r, { body: r.body.toString().replace('100.50', '100.51') });
    assert.equal(bad.status, 400);
    const text = await bad.text();
    assert.deepEqual(JSON.parse(text), { errorInformation: { errorCode: '3105', errorDescription: 'Invalid signature - signature does not verify' } });
    assert.ok(!text.includes(r.headers['fspiop-signature']!.slice(20, 60)));
    assert.equal(events.at(-1)!.outcome, 'failed');
    assert.equal(events.at(-1)!.reason, 'GW_JWS_BAD_SIGNATURE');
  });

  test('GET is skipped; PUT /parties skipped unless VALIDATE_INBOUND_PUT_PARTIES_JWS', async () => {
    const { app: a, seen } = await app({ verifyJws: verifyInboundJws({ ...verifyOptionsOf(config()), keys, telemetry }) });
    assert.equal((await a.request('http://gw/parties/MSISDN/1', { headers: { 'fspiop-source': 'payerfsp' } })).status, 200);
    assert.equal(seen.jwsForm, 'skipped');
    const unsigned = { 'fspiop-source': 'payerfsp', 'content-type': 'application/json' };
    assert.equal((await a.request('http://gw/parties/MSISDN/1', { method: 'PUT', headers: unsigned, body: '{}' })).status, 200);
    const strict = (await app({ verifyJws: verifyInboundJws({ ...verifyOptionsOf(config({ VALIDATE_INBOUND_PUT_PARTIES_JWS: 'true' })), keys, telemetry }) }))
      .app;
    const res = await strict.request('http://gw/parties/MSISDN/1', { method: 'PUT', headers: unsigned, body: '{}' });
    assert.equal(res.status, 400);
    assert.equal(events.at(-1)!.reason, 'GW_JWS_MISSING');
  });

  test("unsigned hub callbacks: rejected by default, accepted with JWS_ALLOW_UNSIGNED_HUB_CALLBACKS from the hub's own certificate", async () => {
    const pki = makeTestPki();
    closers.push(() => pki.cleanup());
    const hubCert = pki.client('hub').certPem;
    const headers = { 'fspiop-source': 'hub', 'content-type': 'application/json' };
    const strict = (await app({ verifyJws: verifyInboundJws({ ...verifyOptionsOf(config()), keys, telemetry }) }, 'inbound', { mtls: true })).app;
    assert.equal((await strict.request('http://gw/transfers/1', { method: 'PUT', headers, body: '{}', peerCertPem: hubCert })).status, 400);
    const laxOptions = { ...verifyOptionsOf(config({ JWS_ALLOW_UNSIGNED_HUB_CALLBACKS: 'true' })), keys, telemetry };
    const lax = await app({ verifyJws: verifyInboundJws(laxOptions) }, 'inbound', { mtls: true });
    assert.equal((await lax.app.request('http://gw/transfers/1', { method: 'PUT', headers, body: '{}', peerCertPem: hubCert })).status, 200);
    assert.equal(lax.seen.jwsForm, 'unsigned');
    const other = await lax.app.request('http://gw/transfers/1', {
      method: 'PUT',
      headers: { ...headers, 'fspiop-source': 'payerfsp' },
      body: '{}',
      peerCertPem: hubCert,
    });
    assert.equal(other.status, 400, 'only the hub may send unsigned');
    // Claiming to be the hub is not enough: without a bound certificate of the hub there is no allowance.
    const open = await app({ verifyJws: verifyInboundJws(laxOptions) });
    assert.equal((await open.app.request('http://gw/transfers/1', { method: 'PUT', headers, body: '{}' })).status, 400, 'no bound peer: no allowance');
  });

  test('checkFreshness: Date window and replay', async () => {
    const cfg = config({ REPLAY_PROTECTION: 'on', JWS_MAX_CLOCK_SKEW_SECONDS: '60' });
    // REPLAY_PROTECTION=on: the one place that decides the stages (src/stages.ts) gives verification a guard.
    assert.notEqual(replayGuardOf(cfg, createMemoryStore({ maxEntries: 100 })), undefined);
    assert.equal(replayGuardOf(config({ REPLAY_PROTECTION: 'off' }), createMemoryStore({ maxEntries: 100 })), undefined);
    const store = createMemoryStore({ maxEntries: 100 });
    const replay = createReplayGuard(store, 60);
    const { app: a } = await app({
      freshness: checkFreshness({ skewSeconds: cfg.jwsMaxClockSkewSeconds }),
      verifyJws: verifyInboundJws({ ...verifyOptionsOf(cfg), keys, telemetry, replay }),
      replayRecord: writeReplayRecord({ store }),
    });
    const r = signedTransfer(RSA, 'payerfsp');
    assert.equal((await send(a, r)).status, 200);
    const again = await send(a, r);
    assert.equal(again.status, 400);
    assert.equal(
      ((await again.json()) as { errorInformation: { errorDescription: string } }).errorInformation.errorDescription,
      'Invalid signature - signature already seen',
    );
    // Lookup answers repeat byte for byte (two lookups of one party in one second; RS256 is deterministic):
    // PUT /parties and PUT /participants callbacks are exempt, every other message is not.
    const party = { party: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payerfsp' }, name: 'Jane' } };
    const headers = { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp', date: new Date().toUTCString() };
    const put = signRequest({ method: 'PUT', url: '/parties/MSISDN/27713803912', headers, json: party }, RSA);
    const verifyParties = await app({
      freshness: checkFreshness({ skewSeconds: cfg.jwsMaxClockSkewSeconds }),
      verifyJws: verifyInboundJws({ ...verifyOptionsOf(config({ VALIDATE_INBOUND_PUT_PARTIES_JWS: 'true' })), keys, telemetry, replay }),
      replayRecord: writeReplayRecord({ store }),
    });
    const b = verifyParties.app;
    const putPartyTo = (x: typeof b) =>
      x.request('http://gw/parties/MSISDN/27713803912', {
        method: 'PUT',
        headers: { ...headers, ...put.headers, 'content-type': 'application/vnd.interoperability.parties+json;version=1.1' },
        body: put.body,
      });
    assert.equal((await putPartyTo(b)).status, 200);
    assert.equal((await putPartyTo(b)).status, 200, 'an identical lookup answer is not a replay');
    assert.equal(verifyParties.seen.jwsForm, 'raw', 'and it was verified');
    const old = signedTransfer(RSA, 'payerfsp', TRANSFER, { date: new Date(Date.now() - 120_000).toUTCString() });
    const res = await send(a, old);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { errorInformation: { errorDescription: string } }).errorInformation.errorDescription, /clock skew/);
  });

  test('replay record: one verdict per request, reported when the record is written; no writer in the pipeline fails closed', async () => {
    const cfg = config({ REPLAY_PROTECTION: 'on', JWS_MAX_CLOCK_SKEW_SECONDS: '60' });
    const store = createMemoryStore({ maxEntries: 100 });
    const replay = createReplayGuard(store, 60);
    const verifyJws = verifyInboundJws({ ...verifyOptionsOf(cfg), keys, telemetry, replay });
    const { app: a } = await app({ verifyJws, replayRecord: writeReplayRecord({ store }) });
    const r = signedTransfer(RSA, 'payerfsp', { ...TRANSFER, transferId: 'b51ec534-ee48-4575-b6a9-ead2955b8069' });
    events.length = 0;
    assert.equal((await send(a, r)).status, 200);
    assert.equal((await send(a, r)).status, 400);
    assert.deepEqual(
      events.map((e) => [e.outcome, e.reason]),
      [
        ['ok', undefined],
        ['failed', 'GW_JWS_REPLAY'],
      ],
    );
    // A pipeline that verifies with replay protection but has no stage to write the record forwards nothing.
    const { app: bare, seen } = await app({ verifyJws });
    delete seen.body;
    const fresh = signedTransfer(RSA, 'payerfsp', { ...TRANSFER, transferId: '0f8d6a56-5d1b-4a3f-9c55-1d0b2f3e4a5b' });
    const res = await send(bare, fresh);
    assert.equal(res.status, 500);
    assert.equal(seen.body, undefined, 'nothing forwarded');
  });
});

describe('signOutbound', async () => {
  const signer = await SigningKeyHolder.open({ path: join(dir, 'signing.key'), watch: false });
  closers.push(() => signer.close());

  test('signs our own unsigned messages with canonical bytes and the new headers', async () => {
    const { app: a, seen } = await app({ signJws: signOutbound({ signer, selfId: config().selfId, signPutParties: config().jwsSignPutParties }) }, 'outbound');
    const body = '{"transferState":"COMMITTED","completedTimestamp":"2029-01-01T10:00:05.123Z"}';
    const res = await a.request('http://gw/transfers/7c23', {
      method: 'PUT',
      headers: { 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp', date: 'Mon, 01 Jan 2029 10:00:00 GMT' },
      body,
    });
    assert.equal(res.status, 200);
    assert.equal(seen.body!.toString(), '{"completedTimestamp":"2029-01-01T10:00:05.123Z","transferState":"COMMITTED"}');
    assert.deepEqual(Object.keys(seen.extra!).sort(), ['fspiop-http-method', 'fspiop-signature', 'fspiop-uri']);
    assert.equal(seen.extra!['fspiop-uri'], '/transfers/7c23');
    const ph = JSON.parse(Buffer.from((JSON.parse(seen.extra!['fspiop-signature']!) as { protectedHeader: string }).protectedHeader, 'base64url').toString());
    assert.deepEqual(ph, {
      alg: 'RS256',
      'FSPIOP-URI': '/transfers/7c23',
      'FSPIOP-HTTP-Method': 'PUT',
      'FSPIOP-Source': 'payeefsp',
      'FSPIOP-Destination': 'payerfsp',
      Date: 'Mon, 01 Jan 2029 10:00:00 GMT',
    });
  });

  test('already-signed, foreign and PUT /parties messages pass byte for byte', async () => {
    const { app: a, seen } = await app({ signJws: signOutbound({ signer, selfId: config().selfId, signPutParties: config().jwsSignPutParties }) }, 'outbound');
    const body = '{ "b": 1, "a": 2 }';
    for (const [path, headers] of [
      ['/transfers', { 'fspiop-source': 'payeefsp', 'fspiop-signature': '{"x":1}' }],
      ['/transfers', { 'fspiop-source': 'payerfsp' }],
      ['/parties/MSISDN/1', { 'fspiop-source': 'payeefsp' }],
    ] as const) {
      const method = path.startsWith('/parties') ? 'PUT' : 'POST';
      assert.equal((await a.request(`http://gw${path}`, { method, headers, body })).status, 200);
      assert.equal(seen.body!.toString(), body);
      assert.deepEqual(seen.extra, {});
    }
  });
});
