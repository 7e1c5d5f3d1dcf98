// Class 10: bounded work per request. Over real TLS on port 0: deeply nested bodies (arrays, objects,
// mixed, at the largest size MAX_BODY_BYTES allows, with the nesting behind megabytes of padding) and
// bodies with too many values are refused with 3101/400 before any stage parses or walks them, with JWS
// verification, ILP checks and outbound signing on, the stub upstream receives nothing, and the event
// loop never stalls for 50 ms while the gateway handles them. JSON-looking text inside strings is not
// counted (no false positives), and a body exactly at the limits is forwarded.
import assert from 'node:assert/strict';
import { sign as cryptoSign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { MAX_JSON_DEPTH } from '../../src/fspiop/json-limits.js';
import { formatSignatureHeader } from '../../src/jws/signature-header.js';
import { fspiopHeaders, type Reply, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { KEYS, PRIVATE_KEYS } from '../helpers/jws.js';
import { makeTestPki } from '../helpers/pki.js';
import { type RemoteClient, type RemoteRequest, startRemoteClient } from '../helpers/remote-client.js';

const STALL_MS = 50;
const pki = makeTestPki();
const keysDir = join(pki.dir, 'jws');
mkdirSync(keysDir);
writeFileSync(join(keysDir, 'dfsp-a.pem'), KEYS.payerfspPublicKeyPem!);
const signingKeyPath = pki.write('hub-signing.key', KEYS.payeefspPrivateKeyPem!);

let plain: TestGateway; // no stage parses the body: only the body check stands between it and the upstream
let full: TestGateway; // JWS verify (all payload forms), ILP hub checks, outbound signing
let client: RemoteClient; // in a child process: its TLS and body work do not count against the gateway's event loop
before(async () => {
  client = await startRemoteClient();
  plain = await startTestGateway({ pki });
  full = await startTestGateway({
    pki,
    env: {
      VALIDATE_INBOUND_JWS: 'true',
      JWS_VERIFICATION_KEYS_DIRECTORY: keysDir,
      JWS_PAYLOAD_FORMS: 'raw,sorted,insertion',
      ILP_CHECK: 'true',
      ILP_QUOTE_BINDING: 'off',
      JWS_SIGN: 'true',
      JWS_SIGNING_KEY_PATH: signingKeyPath,
    },
  });
  full.stub.behave({ status: 202 });
});
after(async () => {
  client?.close();
  await plain?.close();
  await full?.close();
  pki.cleanup();
});

/** FSPIOP-Signature over the raw body bytes (no re-serialisation), as dfsp-a; `tamper` spoils it so the fallback forms run. */
function signRaw(body: Buffer, headers: Record<string, string>, tamper = false): Record<string, string> {
  const ph = {
    alg: 'RS256',
    'FSPIOP-URI': '/transfers',
    'FSPIOP-HTTP-Method': 'POST',
    'FSPIOP-Source': headers['fspiop-source']!,
    'FSPIOP-Destination': headers['fspiop-destination']!,
    Date: headers.date!,
  };
  const protectedHeader = Buffer.from(JSON.stringify(ph)).toString('base64url');
  const sig = cryptoSign('sha256', Buffer.from(`${protectedHeader}.${body.toString('base64url')}`, 'latin1'), PRIVATE_KEYS.payerfsp!);
  if (tamper) sig[0] = sig[0]! ^ 1;
  return {
    ...headers,
    'fspiop-signature': formatSignatureHeader({ protectedHeader, signature: sig.toString('base64url') }),
    'fspiop-uri': '/transfers',
    'fspiop-http-method': 'POST',
  };
}

/**
 * One request sent by the child-process client; the event-loop delay of this process (the gateway's) is
 * recorded from the moment the request is handed over until the reply is back. Returns the largest delay in ms
 * and the longest garbage-collection pause of this process in that time (perf_hooks 'gc' entries).
 */
async function measuredOnce(r: RemoteRequest): Promise<{ reply: Reply; maxMs: number; gcMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  let gcMs = 0;
  let from = Number.POSITIVE_INFINITY;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= from) gcMs = Math.max(gcMs, e.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  try {
    const reply = await client.send(r, () => {
      from = performance.now();
      h.enable();
    });
    h.disable();
    await new Promise((resolve) => setTimeout(resolve, 5)); // gc entries are delivered on a later turn
    return { reply, maxMs: h.max / 1e6, gcMs };
  } finally {
    h.disable();
    gc.disconnect();
  }
}

/** Ticks (1/100 s, all cores) the VM's host has given to other guests so far (/proc/stat "steal"; 0 elsewhere). */
function stealTicks(): number {
  try {
    return Number(readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/)[8] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * The machine is shared: a delay can also come from this process being descheduled. Work the gateway does
 * per request shows in every attempt, so the request is repeated (up to 5 times) until one attempt stays
 * under the bound; every attempt's reply is checked by `check`. (3 attempts left the slowest case, measured
 * alone in CI after the machine-loading files, 0.9 ms over the bound once in a run.) On a VM whose host takes
 * the CPU away (steal), an attempt during which more than 2 ticks were stolen is not counted and is repeated
 * (up to 10 attempts in all); when none was free of steal, the best of them is judged.
 *
 * What is judged is the gateway's own turn: the largest delay less the longest garbage-collection pause in
 * the attempt. A step over a 4–5 MB body takes 20–35 ms, and a major GC of this process (three gateways
 * and the test's bodies: 100–250 MB of heap) takes 12–24 ms on Node 24 and can fall in the same turn: CI
 * on 2026-12-01 saw the spoilt 24 000-value body stall 53 ms in its best of 5 attempts (docs/security.md
 * class 10). The bound still catches work that is not split: with the yields of src/jws/verify.ts removed,
 * the spoilt cases stall beyond it after the GC pause is taken off.
 */
async function measured(r: RemoteRequest | ((attempt: number) => RemoteRequest), check: (reply: Reply) => void): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  let bestAny = Number.POSITIVE_INFINITY;
  let counted = 0;
  for (let attempt = 0; attempt < 10 && counted < 5 && best >= STALL_MS; attempt++) {
    const s0 = stealTicks();
    const once = await measuredOnce(typeof r === 'function' ? r(attempt) : r);
    check(once.reply);
    const ownMs = Math.max(0, once.maxMs - once.gcMs);
    bestAny = Math.min(bestAny, ownMs);
    if (stealTicks() - s0 > 2) continue;
    counted++;
    best = Math.min(best, ownMs);
  }
  return counted > 0 ? best : bestAny;
}

/** `prefix` + `padding` spaces sized so the whole body is exactly `size` bytes + the nesting + `suffix`. */
function sized(size: number, head: string, nest: string, tail: string): Buffer {
  const pad = size - head.length - nest.length - tail.length;
  assert.ok(pad >= 0);
  return Buffer.from(head + ' '.repeat(pad) + nest + tail);
}

const TX =
  '{"transferId":"7c23e80c-d078-4077-8263-2c047876fcf6","payerFsp":"dfsp-a","payeeFsp":"dfsp-b","amount":{"currency":"USD","amount":"1"},"ilpPacket":"AQ","condition":"f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA","expiration":"2099-01-01T00:00:00.000Z","extensionList":';

function hostileBodies(max: number): Record<string, Buffer> {
  const N = 100_000;
  return {
    '100 000 [': Buffer.from('['.repeat(N) + ']'.repeat(N)),
    '100 000 [ unclosed, at MAX_BODY_BYTES': Buffer.from('['.repeat(max)),
    'deep arrays inside a transfer': Buffer.from(`${TX}${'['.repeat(N)}${']'.repeat(N)}}`),
    'deep objects': Buffer.from(`${'{"a":'.repeat(N)}1${'}'.repeat(N)}`),
    'mixed objects and arrays': Buffer.from(`${'{"a":['.repeat(N / 2)}1${']}'.repeat(N / 2)}`),
    'nesting behind padding, at MAX_BODY_BYTES': sized(max, `${TX.slice(0, -1)}0`, '', ''), // replaced below
    '33 levels, one past the limit': Buffer.from(`${TX}${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`),
    'too many values: 60 000 elements': Buffer.from(`${TX}[${'1,'.repeat(60_000)}1]}`),
    'too many values: 60 000 members': Buffer.from(`${TX}{${Array.from({ length: 60_000 }, (_, i) => `"k${i}":0`).join(',')}}}`),
  };
}

describe('deeply nested and over-wide bodies: 3101 in bounded time, nothing forwarded', () => {
  let bodies: Record<string, Buffer>;
  before(() => {
    const max = plain.config.maxBodyBytes;
    bodies = hostileBodies(max);
    // Megabytes of whitespace and a long string first, so the scan has to walk nearly the whole body.
    const nest = `"pad":"${'x'.repeat(1024 * 1024)}","deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    bodies['nesting behind padding, at MAX_BODY_BYTES'] = sized(max, '{', '', nest);
    for (const [name, b] of Object.entries(bodies)) assert.ok(b.length <= max, `${name}: ${b.length} > ${max}`);
  });

  const cases: [string, () => TestGateway, 'plain' | 'signed' | 'badly signed'][] = [
    ['JWS and ILP off', () => plain, 'plain'],
    ['JWS verify and ILP on, valid raw signature', () => full, 'signed'],
    ['JWS verify (all payload forms) and ILP on, spoilt signature', () => full, 'badly signed'],
  ];
  for (const [label, gw, how] of cases) {
    test(`inbound POST /transfers, ${label}`, async () => {
      const g = gw();
      const before = g.stub.requests.length;
      for (const [name, body] of Object.entries(bodies)) {
        const base = fspiopHeaders('transfers', 'dfsp-a', { 'fspiop-destination': 'dfsp-b' });
        const headers = how === 'plain' ? base : signRaw(body, base, how === 'badly signed');
        const maxMs = await measured(
          { port: g.gw.inbound.port, method: 'POST', path: '/transfers', headers, body, cert: g.cert('dfsp-a'), ca: pki.ca.certPem },
          (reply) => {
            assert.equal(reply.status, 400, `${name}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
            assert.equal(reply.json().errorInformation.errorCode, '3101', `${name}: ${reply.body.toString()}`);
            assert.match(
              reply.json().errorInformation.errorDescription,
              /^Malformed syntax - (JSON nested deeper than 32 levels|more than 50000 JSON values)$/,
              name,
            );
          },
        );
        assert.ok(maxMs < STALL_MS, `${name}: event loop stalled ${maxMs.toFixed(1)} ms beyond its longest GC pause`);
      }
      assert.equal(g.stub.requests.length, before, 'the upstream received nothing');
    });
  }

  test('outbound POST /quotes signed by the gateway: refused before signing, nothing sent to the peer', async () => {
    const before = full.stub.requests.length;
    for (const [name, body] of Object.entries(bodies)) {
      const headers = fspiopHeaders('quotes', 'hub', { 'fspiop-destination': 'dfsp-b' });
      const maxMs = await measured({ port: full.gw.outbound.port, method: 'POST', path: '/quotes', headers, body, ca: pki.ca.certPem, tls: false }, (reply) => {
        assert.equal(reply.status, 400, `${name}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
        assert.equal(reply.json().errorInformation.errorCode, '3101', name);
      });
      assert.ok(maxMs < STALL_MS, `${name}: event loop stalled ${maxMs.toFixed(1)} ms beyond its longest GC pause`);
    }
    assert.equal(full.stub.requests.length, before);
  });
});

describe('no false positives', () => {
  const forwarded = async (body: string) => {
    const before = plain.stub.requests.length;
    const r = await send(plain.gw.inbound.port, {
      method: 'POST',
      path: '/quotes',
      headers: fspiopHeaders('quotes', 'dfsp-a'),
      body,
      cert: plain.cert('dfsp-a'),
      ca: pki.ca.certPem,
    });
    assert.equal(r.status, 202, `${r.status} ${r.body.toString()}`);
    assert.equal(plain.stub.requests.length, before + 1);
    assert.equal(plain.stub.requests.at(-1)!.body.toString(), body, 'forwarded byte for byte');
  };

  test('exactly 32 levels deep is forwarded', async () => {
    await forwarded(`{"a":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`);
  });

  test('brackets, braces, commas and escaped quotes inside strings are not counted', async () => {
    await forwarded(JSON.stringify({ s: '['.repeat(100_000), t: '{,'.repeat(60_000), u: '\\"[[[[\\\\"'.repeat(1000), [`k${'['.repeat(100)}`]: '"' }));
  });

  test('a realistic bulk body (1000 transfers with extension lists) is forwarded', async () => {
    const individualTransfers = Array.from({ length: 1000 }, (_, i) => ({
      transferId: `id-${i}`,
      transferAmount: { currency: 'USD', amount: '1.00' },
      ilpPacket: 'AQ'.repeat(200),
      condition: 'c'.repeat(43),
      extensionList: {
        extension: [
          { key: 'k1', value: 'v1' },
          { key: 'k2', value: 'v2' },
        ],
      },
    }));
    await forwarded(
      JSON.stringify({
        bulkTransferId: 'b',
        bulkQuoteId: 'q',
        payerFsp: 'dfsp-a',
        payeeFsp: 'dfsp-b',
        expiration: '2099-01-01T00:00:00.000Z',
        individualTransfers,
      }),
    );
  });
});

describe('large well-formed bodies within the limits: every stage works in turns, no stall', () => {
  let signer: TestGateway; // hub role, signs what it sends to its peer
  before(async () => {
    signer = await startTestGateway({ pki, env: { JWS_SIGN: 'true', JWS_SIGNING_KEY_PATH: signingKeyPath, PEER_ENDPOINT: plain.stub.url } });
  });
  after(async () => {
    await signer?.close();
  });

  /** Near MAX_BODY_BYTES, under MAX_JSON_VALUES: few long strings, or many short ones. */
  const bodies = (max: number): Record<string, Buffer> => {
    const make = (n: number, len: number) =>
      Buffer.from(
        JSON.stringify({ quoteId: 'q', transferId: `t${'x'.repeat(12)}`, items: Array.from({ length: n }, (_, i) => ({ k: 'v'.repeat(len) + i })) }, null, 1),
      );
    const out = { '4000 strings of 1.2 kB': make(4000, 1150), '20 000 strings of 200 B': make(20_000, 200), '24 000 values of 150 B': make(24_000, 150) };
    for (const [name, b] of Object.entries(out)) assert.ok(b.length <= max && b.length > max * 0.75, `${name}: ${b.length}`);
    return out;
  };

  test('inbound with JWS verify (valid, and spoilt so every payload form runs) and ILP on', async () => {
    for (const [name, body] of Object.entries(bodies(full.config.maxBodyBytes))) {
      for (const spoilt of [false, true]) {
        // A new transferId per attempt: replay protection would refuse the same signed request twice.
        const attemptOf = (attempt: number) => {
          const b = Buffer.from(body.toString().replace('"transferId": "txxxxxxxxxxxx"', `"transferId": "t${String(attempt).padStart(12, '0')}"`));
          assert.notDeepEqual(b, body);
          const headers = signRaw(b, fspiopHeaders('transfers', 'dfsp-a', { 'fspiop-destination': 'dfsp-b' }), spoilt);
          return { port: full.gw.inbound.port, method: 'POST', path: '/transfers', headers, body: b, cert: full.cert('dfsp-a'), ca: pki.ca.certPem };
        };
        const maxMs = await measured(attemptOf, (reply) => {
          assert.equal(reply.status, 400, `${name}: ${reply.status}`);
          // spoilt: the signature; valid: the ILP check (the body is no transfer: its mandatory members are absent)
          assert.equal(reply.json().errorInformation.errorCode, spoilt ? '3105' : '3102', `${name}: ${reply.body.toString()}`);
        });
        assert.ok(maxMs < STALL_MS, `${name}${spoilt ? ' (spoilt)' : ''}: event loop stalled ${maxMs.toFixed(1)} ms beyond its longest GC pause`);
      }
    }
  });

  test('outbound, signed by the gateway', async () => {
    for (const [name, body] of Object.entries(bodies(signer.config.maxBodyBytes))) {
      const headers = fspiopHeaders('quotes', 'hub', { 'fspiop-destination': 'dfsp-b' });
      const maxMs = await measured(
        { port: signer.gw.outbound.port, method: 'POST', path: '/quotes', headers, body, ca: pki.ca.certPem, tls: false },
        (reply) => {
          assert.equal(reply.status, 202, `${name}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
        },
      );
      assert.ok(maxMs < STALL_MS, `${name}: event loop stalled ${maxMs.toFixed(1)} ms beyond its longest GC pause`);
      assert.ok(plain.stub.requests.at(-1)!.headers['fspiop-signature']);
    }
  });
});
