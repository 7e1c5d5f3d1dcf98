// Interop with @mojaloop/sdk-standard-components 19.19.1 for random quotes, both versions, both directions.

import assert from 'node:assert/strict';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { validateFulfilment } from '../../../src/ilp/crypto.js';
import { createKeyring, type IlpVersion } from '../../../src/ilp/keyring.js';
import { buildIlp, decodePacket, fulfilmentMessage } from '../../../src/ilp/packet.js';
import { transactionObjectOf } from '../../../src/ilp/transaction.js';
import { quoteRequest, quoteResponse } from '../../helpers/ilp.js';

const require = createRequire(import.meta.url);
const { Ilp } = require('@mojaloop/sdk-standard-components') as { Ilp: { ilpFactory: (v: string, o: object) => SdkIlp } };
interface SdkIlp {
  getQuoteResponseIlp(q: object, r: object): { fulfilment: string; condition: string; ilpPacket: string };
  calculateFulfil(p: string): string;
  validateFulfil(f: string, c: string): boolean;
  getTransactionObject(p: string): object;
}
const logger = { child: () => logger, debug() {}, info() {}, warn() {}, error() {}, isDebugEnabled: false };

const CURRENCIES = ['USD', 'XOF', 'BHD', 'CLF', 'ZMW', 'JPY'];
function randomQuote() {
  const currency = CURRENCIES[randomInt(CURRENCIES.length)]!;
  const decimals = { XOF: 0, JPY: 0, BHD: 3, CLF: 4 }[currency] ?? 2;
  const frac = decimals > 0 && randomInt(2) ? `.${String(randomInt(10 ** decimals)).padStart(decimals, '0')}` : '';
  const amount = { amount: `${randomInt(1, 1_000_000)}${frac}`, currency };
  const note = randomInt(2) ? `note ${randomBytes(4).toString('hex')} – ☕ "q"` : undefined;
  const qr = quoteRequest({
    amount,
    payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: String(randomInt(1e9)), fspId: `payee${randomInt(9)}` } },
  });
  const resp = quoteResponse(Date.now() + randomInt(1e9), { transferAmount: amount, ...(note ? { note } : {}) });
  return { qr, resp };
}

for (const v of ['1', '4'] as IlpVersion[]) {
  describe(`ILP v${v} interop with the SDK`, () => {
    test("our packets, conditions and fulfilments are the SDK's and it accepts them (40 random quotes)", () => {
      for (let i = 0; i < 40; i++) {
        const secret = `${randomUUID()}-${randomUUID()}`;
        const sdk = Ilp.ilpFactory(`v${v}`, { secret, logger });
        const { qr, resp } = randomQuote();
        const ours = buildIlp(v, transactionObjectOf(qr, resp), createKeyring([secret]));
        assert.deepEqual(ours, sdk.getQuoteResponseIlp(qr, resp));
        assert.equal(sdk.calculateFulfil(ours.ilpPacket), ours.fulfilment);
        assert.equal(sdk.validateFulfil(ours.fulfilment, ours.condition), true);
        assert.deepEqual(sdk.getTransactionObject(ours.ilpPacket), JSON.parse(JSON.stringify(transactionObjectOf(qr, resp))));
      }
    });

    test("the SDK's packets decode here and its fulfilments validate here (40 random quotes)", () => {
      for (let i = 0; i < 40; i++) {
        const secret = `${randomUUID()}-${randomUUID()}`;
        const sdk = Ilp.ilpFactory(`v${v}`, { secret, logger });
        const { qr, resp } = randomQuote();
        const theirs = sdk.getQuoteResponseIlp(qr, resp);
        const d = decodePacket(theirs.ilpPacket, v);
        assert.deepEqual(d.transaction, sdk.getTransactionObject(theirs.ilpPacket));
        assert.equal(validateFulfilment(theirs.fulfilment, theirs.condition), true);
        assert.equal(validateFulfilment(theirs.fulfilment, buildIlp(v, transactionObjectOf(qr, resp), createKeyring(['x'.repeat(32)])).condition), false);
        const f = createKeyring(['another-secret-that-is-long-enough!', secret]).find(
          fulfilmentMessage(theirs.ilpPacket, d),
          Buffer.from(theirs.condition, 'base64url'),
        );
        assert.equal(f?.toString('base64url'), theirs.fulfilment);
      }
    });
  });
}

test('v4 refuses a fractional scaled amount as the SDK does; v1 truncates it as the SDK does', () => {
  const secret = 'a-secret-of-at-least-thirty-two-chars';
  const { qr, resp } = randomQuote();
  const r = { ...resp, transferAmount: { amount: '1.234', currency: 'USD' } };
  assert.throws(() => buildIlp('4', transactionObjectOf(qr, r), createKeyring([secret])), /after scaling should be integer/);
  const sdk = Ilp.ilpFactory('v1', { secret, logger });
  const ours = buildIlp('1', transactionObjectOf(qr, r), createKeyring([secret]));
  assert.equal(ours.ilpPacket, sdk.getQuoteResponseIlp(qr, r).ilpPacket);
  assert.equal(decodePacket(ours.ilpPacket).amount, '123');
});

test('FX (getFxQuoteResponseIlp) equals the SDK for random conversions, v1 and v4', async () => {
  const { fxQuoteResponseIlp, quoteResponseIlp } = await import('../../../src/ilp/packet.js');
  for (let i = 0; i < 20; i++) {
    const secret = `${randomUUID()}-${randomUUID()}`;
    const v = i % 2 ? '4' : '1';
    const sdk = Ilp.ilpFactory(`v${v}`, { secret, logger }) as SdkIlp & { getFxQuoteResponseIlp(a: object, b: object): object };
    const terms = {
      conversionId: randomUUID(),
      determiningTransferId: randomUUID(),
      initiatingFsp: 'payerfsp',
      counterPartyFsp: `FXP${randomInt(9)}`,
      amountType: 'SEND',
      sourceAmount: { currency: 'USD', amount: String(randomInt(1, 1e6)) },
      targetAmount: { currency: 'ZMW', amount: String(randomInt(1, 1e6)) },
      expiration: new Date(Date.now() + randomInt(1e9)).toISOString(),
      charges: [{ chargeType: 'fee', sourceAmount: { currency: 'USD', amount: '1' }, targetAmount: { currency: 'ZMW', amount: '26.5' } }],
    };
    const req = { conversionRequestId: randomUUID(), conversionTerms: { ...terms, targetAmount: { currency: 'ZMW' } } };
    const resp = { conversionTerms: terms };
    assert.deepEqual(fxQuoteResponseIlp(v, req, resp, createKeyring([secret])), sdk.getFxQuoteResponseIlp(req, resp));
    const { qr, resp: qresp } = randomQuote();
    assert.deepEqual(quoteResponseIlp(v, qr, qresp, createKeyring([secret])), sdk.getQuoteResponseIlp(qr, qresp));
  }
});
