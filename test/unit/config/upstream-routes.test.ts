// INBOUND_UPSTREAM_ROUTES: parsing, validation (each bad input one clear line naming the variable) and the
// resulting typed, frozen `upstream` group; a bare host:port where a URL is expected is refused with its own hint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ConfigError, loadConfig } from '../../../src/config/load.js';
import { parseUpstreamRoutes } from '../../../src/config/upstream-routes.js';
import { RESOURCES } from '../../../src/fspiop/resources.js';

const prod = {
  SWITCHGUARD_PROFILE: 'production',
  IN_SERVER_CERT_PATH: 's.pem',
  IN_SERVER_KEY_PATH: 's.key',
  IN_CA_CERT_PATH: 'ca.pem',
  INBOUND_UPSTREAM_URL: 'http://central:3000',
  JWS_VERIFICATION_KEYS_DIRECTORY: 'k',
  JWS_SIGNING_KEY_PATH: 'sign.key',
};
const MOJALOOP =
  'parties|participants=http://account-lookup:4002,quotes|fxQuotes|bulkQuotes=http://quoting:3002,transfers|fxTransfers|bulkTransfers=http://ml-api-adapter:3000';
const problems = (env: Record<string, string | undefined>) => {
  try {
    loadConfig(env as Record<string, string>, { cwd: '/tmp' });
    return [];
  } catch (e) {
    return [...(e as ConfigError).problems];
  }
};

test("Mojaloop's split switch: each item is an upstream named after its first resource, the rest go to INBOUND_UPSTREAM_URL", () => {
  const c = loadConfig({ ...prod, INBOUND_UPSTREAM_ROUTES: MOJALOOP }, { cwd: '/tmp' });
  const t = c.upstream.targets;
  assert.deepEqual(
    t.map((x) => [x.name, x.kind === 'url' ? x.url : 'simulator', x.resources.join(',')]),
    [
      ['upstream', 'http://central:3000', 'transactionRequests,authorizations,transactions,services'],
      ['upstream:parties', 'http://account-lookup:4002', 'parties,participants'],
      ['upstream:quotes', 'http://quoting:3002', 'quotes,fxQuotes,bulkQuotes'],
      ['upstream:transfers', 'http://ml-api-adapter:3000', 'transfers,fxTransfers,bulkTransfers'],
    ],
  );
  // Every resource of the table has exactly one upstream.
  assert.deepEqual(t.flatMap((x) => x.resources).sort(), [...RESOURCES].sort());
  assert.ok(Object.isFrozen(c.upstream) && Object.isFrozen(c.upstream.targets) && Object.isFrozen(t[1]) && Object.isFrozen(t[1]!.resources));
  assert.equal(c.useSimulator, false);
});

test('without INBOUND_UPSTREAM_ROUTES one default upstream serves every resource (as before)', () => {
  const c = loadConfig(prod, { cwd: '/tmp' });
  assert.equal(c.upstream.targets.length, 1);
  assert.deepEqual(c.upstream.targets[0]!.resources, RESOURCES);
  assert.equal(c.upstream.targets[0]!.name, 'upstream');
  const dev = loadConfig({ INBOUND_UPSTREAM_ROUTES: 'quotes=http://127.0.0.1:3002', SWITCHGUARD_PROFILE: 'development' }, { cwd: '/tmp' });
  assert.equal(dev.useSimulator, true, 'in development the simulator serves the resources not routed');
  assert.deepEqual(
    dev.upstream.targets.map((x) => [x.name, x.kind]),
    [
      ['upstream', 'simulator'],
      ['upstream:quotes', 'url'],
    ],
  );
});

test('routes covering every resource need no INBOUND_UPSTREAM_URL; otherwise start-up names the resources left without one', () => {
  const all = RESOURCES.map((r, i) => `${r}=http://svc${i}:80`).join(',');
  const c = loadConfig({ ...prod, INBOUND_UPSTREAM_URL: undefined as unknown as string, INBOUND_UPSTREAM_ROUTES: all }, { cwd: '/tmp' });
  assert.equal(c.upstream.targets.length, RESOURCES.length);
  assert.ok(c.upstream.targets.every((t) => t.name !== 'upstream'));
  // INBOUND_UPSTREAM_URL set but serving nothing: not an upstream (no pool, no probe).
  assert.equal(loadConfig({ ...prod, INBOUND_UPSTREAM_ROUTES: all }, { cwd: '/tmp' }).upstream.targets.length, RESOURCES.length);
  assert.deepEqual(problems({ ...prod, INBOUND_UPSTREAM_URL: undefined, INBOUND_UPSTREAM_ROUTES: MOJALOOP }), [
    'INBOUND_UPSTREAM_URL: required in the production profile, no upstream for transactionRequests, authorizations, transactions, services (set INBOUND_UPSTREAM_URL or list them in INBOUND_UPSTREAM_ROUTES)',
  ]);
  assert.deepEqual(problems({ ...prod, INBOUND_UPSTREAM_URL: undefined }), ['INBOUND_UPSTREAM_URL: required in the production profile']);
});

test('each bad input stops start-up with one clear line naming INBOUND_UPSTREAM_ROUTES', () => {
  const cases: [string, RegExp][] = [
    ['party=http://als:4002', /^INBOUND_UPSTREAM_ROUTES: unknown resource 'party' in 'party=http:\/\/als:4002' \(resources: participants, parties, /],
    ['Parties=http://als:4002', /unknown resource 'Parties'/],
    ['quotes=http://a:1,quotes|fxQuotes=http://b:2', /^INBOUND_UPSTREAM_ROUTES: resource 'quotes' is listed twice; each resource has one upstream$/],
    ['quotes|quotes=http://a:1', /resource 'quotes' is listed twice/],
    [
      'quotes=quoting:3002',
      /^INBOUND_UPSTREAM_ROUTES: the URL of quotes 'quoting:3002' has no scheme \(a bare host:port, as the sdk-scheme-adapter writes its endpoints\)/,
    ],
    ['quotes=ftp://quoting:21', /the URL of quotes 'ftp:\/\/quoting:21' is not an http:\/\/ or https:\/\/ URL$/],
    ['quotes=http://', /the URL of quotes 'http:\/\/' is not a URL$/],
    ['quotes=http://user:pw@quoting:3002', /carries credentials/],
    ['quotes=http://quoting:3002/?a=b', /has a query or fragment/],
    ['quotes', /^INBOUND_UPSTREAM_ROUTES: expected resource\[\|resource…\]=URL, got 'quotes'$/],
    ['=http://quoting:3002', /expected resource\[\|resource…\]=URL/],
    ['quotes=', /expected resource\[\|resource…\]=URL/],
    ['|quotes=http://a:1', /unknown resource ''/],
    [',', /expected resource\[\|resource…\]=URL items, comma-separated/],
    ['quotes=http://svc:1,transfers=http://svc:1/', /^INBOUND_UPSTREAM_ROUTES: transfers and quotes have the same URL; list their resources in one item$/],
  ];
  for (const [value, expected] of cases) {
    const p = problems({ ...prod, INBOUND_UPSTREAM_ROUTES: value });
    assert.equal(p.length, 1, `${value}: ${p.join(' / ')}`);
    assert.match(p[0]!, expected, value);
  }
  // Several mistakes: one line each.
  assert.equal(problems({ ...prod, INBOUND_UPSTREAM_ROUTES: 'party=http://a:1,quotes=b:2' }).length, 2);
});

test('parseUpstreamRoutes keeps the order, trims spaces and keeps base paths', () => {
  const r = parseUpstreamRoutes(' quotes | fxQuotes = https://hub.example/quoting , parties=http://[::1]:4002 ');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.routes.map((x) => [x.name, x.url, x.resources]),
    [
      ['upstream:quotes', 'https://hub.example/quoting', ['quotes', 'fxQuotes']],
      ['upstream:parties', 'http://[::1]:4002', ['parties']],
    ],
  );
});

test('INBOUND_UPSTREAM_ROUTES is a production setting: with no profile given, start-up stops', () => {
  const p = problems({ INBOUND_UPSTREAM_ROUTES: 'quotes=http://quoting:3002' });
  assert.match(p[0]!, /^SWITCHGUARD_PROFILE: unset, but production settings are given \(INBOUND_UPSTREAM_ROUTES\)/);
});

test('URL fields refuse a bare host:port (the SDK form) with a hint, and still refuse other non-URLs', () => {
  assert.match(
    problems({ ...prod, PEER_ENDPOINT: 'switch:4000' })[0]!,
    /^PEER_ENDPOINT: expected an http:\/\/ or https:\/\/ URL; this one has no scheme \(a bare host:port, as the sdk-scheme-adapter writes its endpoints\); write http:\/\/ or https:\/\/ before it \(got 'switch:4000'\)$/,
  );
  assert.match(problems({ ...prod, INBOUND_UPSTREAM_URL: '127.0.0.1:3000' })[0]!, /^INBOUND_UPSTREAM_URL: .*bare host:port/);
  assert.deepEqual(problems({ ...prod, PEER_ENDPOINT: 'ftp://switch' }), ["PEER_ENDPOINT: expected an http:// or https:// URL (got 'ftp://switch')"]);
  assert.deepEqual(problems({ ...prod, PEER_ENDPOINT: 'https://switch:4000' }), []);
});
