// Property-based tests (fast-check) of every parser that sees attacker bytes: for arbitrary input and for
// mutations of valid samples (test/vectors), a parser returns a value or throws a GatewayError, never any
// other exception (TypeError, RangeError, SyntaxError…). Round trips where they exist. Runs are kept
// moderate so the file takes a few seconds. Operator files (peer directory, identity map) are not
// attacker input: they must fail with one plain Error whose message names the file kind.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { isGatewayError } from '../../src/errors.js';
import { canonicalJson } from '../../src/fspiop/canonical-json.js';
import { checkFspiopHeaders, parseHttpDate } from '../../src/fspiop/headers.js';
import { jsonLimitExceeded, MAX_JSON_DEPTH } from '../../src/fspiop/json-limits.js';
import { matchRoute, ROUTE_TEMPLATES } from '../../src/fspiop/routes.js';
import { createKeyring } from '../../src/ilp/keyring.js';
import { buildIlp, decodePacket } from '../../src/ilp/packet.js';
import { decodeTransaction, encodeTransaction } from '../../src/ilp/transaction.js';
import { hasDuplicateKeys, parseBody, payloadText } from '../../src/jws/payload-forms.js';
import { checkProtectedHeader, decodeProtectedHeader } from '../../src/jws/protected-header.js';
import { formatSignatureHeader, parseSignatureHeader } from '../../src/jws/signature-header.js';
import { parsePeerDirectory } from '../../src/peers/directory.js';
import { loadIdentityMap } from '../../src/tls/peer.js';
import { VECTORS } from '../helpers/jws.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));
const V1 = load('ilp-v1-vectors.json') as { packet: { base64url: string }; transactionObject: Record<string, unknown>; ilpSecret: string };
const V4 = load('ilp-v4-vectors.json') as { packet: { base64url: string }; transactionObject: Record<string, unknown>; ilpSecret: string };

const RUNS = { numRuns: 300 };
const tmp = mkdtempSync(join(tmpdir(), 'sg-prop-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs f; passes when it returns or throws a GatewayError, fails with the foreign error otherwise. */
function onlyGatewayErrors<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (isGatewayError(e)) return undefined;
    assert.fail(`threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
}

/** Mutations of a valid sample: insert, delete, replace or duplicate a slice; flip a character. */
const mutated = (sample: string, alphabet: fc.Arbitrary<string> = fc.string({ maxLength: 8, unit: 'binary' })) =>
  fc.tuple(fc.nat(sample.length), fc.nat(16), alphabet, fc.constantFrom('insert', 'delete', 'replace', 'duplicate', 'truncate')).map(([at, len, ins, op]) => {
    const end = Math.min(sample.length, at + len);
    switch (op) {
      case 'insert':
        return sample.slice(0, at) + ins + sample.slice(at);
      case 'delete':
        return sample.slice(0, at) + sample.slice(end);
      case 'replace':
        return sample.slice(0, at) + ins + sample.slice(end);
      case 'duplicate':
        return sample.slice(0, end) + sample.slice(at, end) + sample.slice(end);
      default:
        return sample.slice(0, at);
    }
  });

/** Text that looks like the input of a JSON/path/header parser: structural characters, escapes, unicode. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 200, unit: 'binary' }),
  fc.string({
    maxLength: 200,
    unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', '/', '%', '.', '?', '=', ';', ' ', 'a', '0', '\u0000', '\ud800', 'é'),
  }),
  fc.json({ maxDepth: 4 }),
);

/** Deeply nested JSON text, far past any limit. */
const deepJson = fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('[', '{"a":', '[{"b":')).map(([n, open]) => {
  const close = open === '[' ? ']' : open === '{"a":' ? '}' : '}]';
  return `${open.repeat(n)}1${close.repeat(n)}`;
});

describe('FSPIOP routes and headers', () => {
  const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'get', '', 'CONNECT'];
  const samplePaths = ROUTE_TEMPLATES.map((t) => t.split(' ')[1]!.replace(/\{[A-Za-z]+\}/g, '7c23e80c-d078-4077-8263-2c047876fcf6'));
  const paths = fc.oneof(
    hostileText,
    fc.webPath(),
    fc.constantFrom(...samplePaths).chain((p) => mutated(p, fc.constantFrom('/', '..', '%2e', '%2F', '\\', '//', '?', '#', '%', '%zz', '/error', '/./', ''))),
  );

  test('matchRoute: a route or a GatewayError (3002/3000) for any method and path', () => {
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), paths, (method, path) => {
        const r = onlyGatewayErrors(() => matchRoute(method, path));
        if (r) assert.equal(r.path + r.query, path, 'the route describes exactly the path it matched');
      }),
      { numRuns: 1000 },
    );
  });

  test('parseHttpDate never throws; every RFC 1123 date round-trips', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileText,
          fc
            .date()
            .map((d) => (Number.isNaN(d.getTime()) ? 'x' : d.toUTCString()))
            .chain((s) => mutated(s)),
        ),
        (s) => {
          const t = parseHttpDate(s);
          if (t !== undefined) assert.equal(new Date(t).toUTCString(), s);
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        assert.equal(parseHttpDate(d.toUTCString()), Math.floor(d.getTime() / 1000) * 1000);
      }),
      RUNS,
    );
  });

  test('checkFspiopHeaders: the checked headers or a GatewayError for any header values', () => {
    const route = matchRoute('POST', '/quotes');
    const value = fc.option(
      fc.oneof(
        hostileText,
        fc.constantFrom(
          'application/vnd.interoperability.quotes+json;version=1.1',
          'application/vnd.interoperability.quotes+json;version=9.9',
          'application/vnd.interoperability.iso20022.quotes+json;version=2.0',
          new Date().toUTCString(),
          'payerfsp',
          'a'.repeat(33),
        ),
      ),
      { nil: undefined },
    );
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
        fc.record({ accept: value, 'content-type': value, date: value, 'fspiop-source': value, 'fspiop-destination': value }),
        fc.boolean(),
        (method, h, body) => {
          onlyGatewayErrors(() => checkFspiopHeaders(method, (n) => (h as Record<string, string | undefined>)[n], route, body));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('FSPIOP-Signature and the protected header', () => {
  const valid = formatSignatureHeader(VECTORS.positives[0]!.fspiopSignature);
  const legacy = JSON.stringify({
    signature: VECTORS.positives[0]!.fspiopSignature.signature,
    protectedHeader: VECTORS.positives[0]!.fspiopSignature.protectedHeader,
  });

  test('parseSignatureHeader: members or GW_JWS_MALFORMED; what it accepts formats back to the same members', () => {
    fc.assert(
      fc.property(fc.oneof(hostileText, mutated(valid), mutated(legacy), fc.string({ minLength: 8000, maxLength: 9000 })), (s) => {
        const h = onlyGatewayErrors(() => parseSignatureHeader(s));
        if (h) assert.deepEqual(parseSignatureHeader(formatSignatureHeader(h)), h);
      }),
      { numRuns: 1000 },
    );
  });

  test('decodeProtectedHeader and checkProtectedHeader: a value or a GatewayError', () => {
    const ph = VECTORS.positives[0]!.fspiopSignature.protectedHeader;
    const jsonText = VECTORS.positives[0]!.protectedHeaderJson;
    const b64 = fc.oneof(
      hostileText,
      mutated(ph, fc.constantFrom('A', '-', '_', '=', '+', '/', '.', '')),
      mutated(jsonText).map((t) => Buffer.from(t).toString('base64url')),
      fc.oneof(fc.json(), deepJson).map((t) => Buffer.from(t).toString('base64url')),
    );
    const headers = VECTORS.positives[0]!.request.headers;
    fc.assert(
      fc.property(
        b64,
        fc.dictionary(fc.constantFrom('fspiop-uri', 'fspiop-source', 'date', 'fspiop-destination', 'fspiop-http-method'), fc.string()),
        (s, extra) => {
          const decoded = onlyGatewayErrors(() => decodeProtectedHeader(s));
          if (decoded) onlyGatewayErrors(() => checkProtectedHeader(decoded, (n) => extra[n] ?? headers[n], { method: 'POST', uri: '/quotes' }));
        },
      ),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        onlyGatewayErrors(() => checkProtectedHeader(obj as { alg: unknown }, (n) => headers[n], { method: 'POST', uri: '/quotes' }));
      }),
      RUNS,
    );
  });
});

describe('JSON: canonical form, payload forms, the depth/width scan', () => {
  test('canonical JSON: parse(canonical(x)) equals x as JSON sees it, and canonical is idempotent', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (x) => {
        const c = canonicalJson(x);
        assert.deepEqual(JSON.parse(c), JSON.parse(JSON.stringify(x)));
        assert.equal(canonicalJson(JSON.parse(c)), c);
      }),
      RUNS,
    );
  });

  test('canonical JSON of any parsed body: text or GW_BODY_TOO_COMPLEX past the depth limit, never a stack overflow', () => {
    fc.assert(
      fc.property(fc.oneof(deepJson, fc.json({ maxDepth: 8 })), (text) => {
        const v: unknown = JSON.parse(text);
        const deep = jsonLimitExceeded(text) === 'depth';
        try {
          canonicalJson(v);
          assert.ok(!deep, 'a body past the depth limit must not canonicalise');
        } catch (e) {
          assert.ok(isGatewayError(e) && e.code === 'GW_BODY_TOO_COMPLEX' && deep, String(e));
        }
      }),
      RUNS,
    );
  });

  test('parseBody never throws; hasDuplicateKeys never throws on JSON and finds an inserted duplicate', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileText,
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        (s) => {
          const p = parseBody(Buffer.from(s, 'latin1'));
          if (p) {
            hasDuplicateKeys(p.text);
            payloadText('sorted', p.json);
            payloadText('insertion', p.json);
          }
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 3 }), { minKeys: 1 }), (obj) => {
        const text = JSON.stringify(obj);
        assert.equal(hasDuplicateKeys(text), false, text);
        const first = JSON.stringify(Object.keys(obj)[0]);
        assert.equal(hasDuplicateKeys(`${text.slice(0, -1)},${first}:0}`), true);
        assert.equal(hasDuplicateKeys(`{"wrap":[${text.slice(0, -1)},${first}:0}]}`), true);
      }),
      RUNS,
    );
  });

  test('jsonLimitExceeded: never throws; the depth verdict agrees with the parsed value', () => {
    const depthOf = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 0, max: 12 }), (x, max) => {
        const text = JSON.stringify(x);
        assert.equal(jsonLimitExceeded(text, { maxDepth: max }) === 'depth', depthOf(x) > max, text);
        assert.equal(jsonLimitExceeded(Buffer.from(text), { maxDepth: max }) === 'depth', depthOf(x) > max);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.oneof(hostileText, deepJson), (s) => {
        jsonLimitExceeded(s);
        jsonLimitExceeded(Buffer.from(s, 'latin1'));
      }),
      RUNS,
    );
    assert.equal(jsonLimitExceeded('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH)), undefined);
    assert.equal(jsonLimitExceeded('['.repeat(MAX_JSON_DEPTH + 1)), 'depth');
  });
});

describe('ILP packets v1 and v4', () => {
  const b64url = fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('base64url'));
  const withType = (t: number) => fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([Buffer.from([t]), b]).toString('base64url'));
  const v1Bytes = Buffer.from(V1.packet.base64url, 'base64url');
  const v4Bytes = Buffer.from(V4.packet.base64url, 'base64url');
  const byteMutation = (bytes: Buffer) =>
    fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(bytes.length)).map(([i, b, cut]) => {
      const out = Buffer.from(bytes);
      out[i] = b;
      return out.subarray(0, Math.max(1, cut)).toString('base64url');
    });

  test('decodePacket: a packet or GW_ILP_PACKET_MALFORMED for any text, any bytes, any corruption of a valid packet', () => {
    const inputs = fc.oneof(
      hostileText,
      b64url,
      withType(1),
      withType(12),
      byteMutation(v1Bytes),
      byteMutation(v4Bytes),
      mutated(V1.packet.base64url),
      mutated(V4.packet.base64url),
      fc.oneof(fc.json(), deepJson).map((j) => `AQ${Buffer.from(j).toString('base64url')}`),
    );
    fc.assert(
      fc.property(inputs, fc.constantFrom(undefined, '1' as const, '4' as const), (s, expect) => {
        onlyGatewayErrors(() => decodePacket(s, expect));
      }),
      { numRuns: 1000 },
    );
    assert.equal(decodePacket(V1.packet.base64url).version, '1');
    assert.equal(decodePacket(V4.packet.base64url).version, '4');
  });

  test('decodeTransaction never throws and refuses data nested past the depth limit', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostileText,
          b64url,
          deepJson.map((j) => Buffer.from(j).toString('base64url')),
        ),
        (s) => {
          const t = decodeTransaction(s);
          if (t) assert.notEqual(jsonLimitExceeded(t.json), 'depth');
        },
      ),
      RUNS,
    );
  });

  test('encode/decode round trip: the packet built for a transaction decodes to that transaction', () => {
    const ring = createKeyring([V1.ilpSecret]);
    const tx = fc.record({
      quoteId: fc.uuid(),
      transactionId: fc.uuid(),
      payee: fc.record({
        partyIdInfo: fc.record({
          partyIdType: fc.constantFrom('MSISDN', 'IBAN'),
          partyIdentifier: fc.stringMatching(/^[0-9A-Za-z]{1,20}$/),
          fspId: fc.stringMatching(/^[a-z0-9-]{1,20}$/),
        }),
      }),
      payer: fc.record({
        partyIdInfo: fc.record({
          partyIdType: fc.constant('MSISDN'),
          partyIdentifier: fc.stringMatching(/^[0-9]{1,15}$/),
          fspId: fc.stringMatching(/^[a-z0-9-]{1,20}$/),
        }),
      }),
      amount: fc.record({ currency: fc.constantFrom('USD', 'EUR', 'XOF', 'JPY'), amount: fc.integer({ min: 1, max: 1e9 }).map(String) }),
      expiration: fc.date({ min: new Date('2030-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      note: fc.option(fc.string({ unit: 'binary', maxLength: 30 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(tx, fc.constantFrom('1' as const, '4' as const), (t, version) => {
        const clean = JSON.parse(JSON.stringify(t)) as Record<string, unknown>;
        const built = buildIlp(version, clean, ring);
        const d = decodePacket(built.ilpPacket, version);
        assert.deepEqual(d.transaction, clean);
        assert.equal(d.json, encodeTransaction(clean).json);
        assert.equal(d.condition === undefined ? built.condition : d.condition.toString('base64url'), built.condition);
      }),
      { numRuns: 100 },
    );
    assert.deepEqual(decodePacket(V4.packet.base64url).transaction, V4.transactionObject);
  });
});

describe('operator files: peer directory and identity map', () => {
  const plainError = (e: unknown, prefix: RegExp) => {
    assert.ok(e instanceof Error && e.constructor === Error, `expected a plain Error, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.match(e.message, prefix);
  };
  const sampleDir = 'payeefsp: https://payee.example:8443/base\nfxp1:\n  endpoint: http://fxp.example\n  ilpVersion: 4\n';
  const sampleJson = JSON.stringify({ payeefsp: 'https://payee.example/', fxp1: { endpoint: 'http://[::1]:9/x', ilpVersion: '1' } });

  test('parsePeerDirectory: a directory, or one Error saying what is wrong with it', () => {
    const texts = fc.oneof(
      hostileText,
      mutated(sampleDir),
      mutated(sampleJson),
      fc
        .dictionary(
          fc.string(),
          fc.oneof(
            fc.string(),
            fc.constantFrom('http://[', 'https://', 'http://a b', 'http://x:99999'),
            fc.record({ endpoint: fc.oneof(fc.string(), fc.constant('http://[')), ilpVersion: fc.jsonValue() }),
          ),
        )
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(texts, (t) => {
        try {
          parsePeerDirectory(t);
        } catch (e) {
          plainError(e, /^peer directory/);
        }
      }),
      RUNS,
    );
  });

  test('loadIdentityMap: a map, or one Error saying what is wrong with it', () => {
    const file = join(tmp, 'identity.json');
    const sample = JSON.stringify({ [`${'AB:'.repeat(31)}AB`]: 'payerfsp', 'payee CN': 'payeefsp' });
    fc.assert(
      fc.property(
        fc.oneof(
          hostileText,
          mutated(sample),
          fc.dictionary(fc.string(), fc.jsonValue()).map((o) => JSON.stringify(o)),
        ),
        (t) => {
          writeFileSync(file, t);
          try {
            loadIdentityMap(file);
          } catch (e) {
            plainError(e, /^identity map/);
          }
        },
      ),
      RUNS,
    );
  });
});
