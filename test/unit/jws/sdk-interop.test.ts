// Interoperability in both directions with Mojaloop's SDK: 19.19.1 (sorted-key canonical form) and
// 19.18.8 (insertion-order form), loaded from node_modules (devDependencies).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { signRequest } from '../../../src/jws/sign.js';
import { headerGetter, type VerifyPolicy, verifyRequest } from '../../../src/jws/verify.js';
import { KEYS, PRIVATE_KEYS, PUBLIC_KEYS, SDK_RELEASES, type SdkRequest, sdkLogger, staticKeys, TRANSFER } from '../../helpers/jws.js';

const RELEASES = SDK_RELEASES;
const logger = sdkLogger;

const POLICY: VerifyPolicy = { algorithms: new Set(['RS256', 'ES256']), forms: ['raw', 'sorted', 'insertion'] };
const keys = staticKeys({ payerfsp: [PUBLIC_KEYS.payerfsp!], ecfsp: [PUBLIC_KEYS.ecfsp!] });
const MESSAGES: [string, string, unknown][] = [
  ['POST', 'https://switch.example.net/transfers', TRANSFER],
  [
    'PUT',
    'https://switch.example.net/base/transfers/7c23e80c-d078-4077-8263-2c047876fcf6',
    { transferState: 'COMMITTED', fulfilment: 'x', completedTimestamp: '2029-01-01T10:00:05.123Z' },
  ],
  ['POST', '/quotes', { quoteId: 'q', note: 'café – 42', amount: { currency: 'USD', amount: '1' }, extensionList: { extension: [{ value: 'v', key: 'k' }] } }],
];

for (const [release, Jws] of RELEASES) {
  describe(`sdk-standard-components ${release}`, () => {
    for (const [src, pem] of [
      ['payerfsp', KEYS.payerfspPrivateKeyPem!],
      ['ecfsp', KEYS.ecfspPrivateKeyPem!],
    ] as const) {
      test(`requests signed by its JwsSigner (${src}) verify with the gateway`, async () => {
        const signer = new Jws.signer({ signingKey: pem, logger });
        for (const [method, url, body] of MESSAGES) {
          const req: SdkRequest = {
            method,
            url,
            headers: { 'fspiop-source': src, 'fspiop-destination': 'payeefsp', date: new Date().toUTCString() },
            body: structuredClone(body),
          };
          signer.sign(req);
          const wire = Buffer.from(req.body as string, 'utf8');
          const r = await verifyRequest({ method, path: url, header: headerGetter(req.headers), body: wire }, keys, POLICY);
          assert.equal(r.source, src);
          assert.equal(r.alg, src === 'ecfsp' ? 'ES256' : 'RS256');
          // 19.19.1 sends exactly what it signed; 19.18.8 signs JSON.stringify and sends fast-safe-stringify: same bytes for plain JSON
          assert.equal(r.form, 'raw');
        }
      });
    }

    test('requests the gateway signs pass its JwsValidator (RS256 and ES256)', () => {
      const validator = new Jws.validator({ validationKeys: { payerfsp: KEYS.payerfspPublicKeyPem!, ecfsp: KEYS.ecfspPublicKeyPem! }, logger });
      for (const [src, alg] of [
        ['payerfsp', ALGORITHMS.RS256],
        ['ecfsp', ALGORITHMS.ES256],
      ] as const) {
        for (const [method, url, body] of MESSAGES) {
          const headers: Record<string, string> = {
            'content-type': 'application/json',
            'fspiop-source': src,
            'fspiop-destination': 'payeefsp',
            date: new Date().toUTCString(),
          };
          const out = signRequest({ method, url, headers, json: body }, { key: PRIVATE_KEYS[src]!, alg });
          const all = { ...headers, ...out.headers };
          assert.equal(validator.validate({ headers: all, body: JSON.parse(out.body.toString('utf8')) }), true);
        }
      }
    });

    test('its JwsValidator rejects a gateway-signed request whose body was changed (the check is real)', () => {
      const validator = new Jws.validator({ validationKeys: { payerfsp: KEYS.payerfspPublicKeyPem! }, logger });
      const headers = { 'fspiop-source': 'payerfsp', date: new Date().toUTCString() };
      const out = signRequest({ method: 'POST', url: '/transfers', headers, json: TRANSFER }, { key: PRIVATE_KEYS.payerfsp!, alg: ALGORITHMS.RS256 });
      assert.throws(
        () => validator.validate({ headers: { ...headers, ...out.headers }, body: { ...TRANSFER, amount: { currency: 'USD', amount: '1' } } }),
        /invalid signature/,
      );
    });
  });
}
