// Packet amounts (src/ilp/packet-amount.ts, docs/ilp.md "Packet amounts"): the packets the SDK generations in the
// field write, made by their own Ilp classes, pass the hub's and the payee's prepare checks for every amount of
// the table; a packet amount none of them writes for the body is refused, and so is any change of the body amount.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { serializeIlpPrepare } from 'ilp-packet';
import { serializeIlpPayment } from 'ilp-packet-v1';
import { GatewayError } from '../../../src/errors.js';
import { checkDfspTransfer, checkHubPrepare } from '../../../src/ilp/checks.js';
import { conditionOf } from '../../../src/ilp/crypto.js';
import { scaleAmount } from '../../../src/ilp/currency.js';
import { createKeyring, type IlpVersion } from '../../../src/ilp/keyring.js';
import { buildIlp, decodePacket, v4Message } from '../../../src/ilp/packet.js';
import { type Money, packetAmountMatches, packetAmountsFor } from '../../../src/ilp/packet-amount.js';
import { encodeTransaction, type JsonObject, transactionObjectOf } from '../../../src/ilp/transaction.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { ilpApp, testConfig } from '../../helpers/ilp.js';
import { INSTALLED_SDK_VERSIONS, SDK_ILP_WRITERS, type SdkIlp, type SdkIlpResult, type SdkIlpWriter } from '../../helpers/sdk.js';

const SECRET = 'packet-amount-test-secret-0123456789abcdef';
const KEYRING = createKeyring([SECRET]);
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const QUOTE_EXPIRATION = new Date(T0 + 60_000).toISOString();
const TRANSFER_EXPIRATION = new Date(T0 + 30_000).toISOString();

const party = (fspId: string, partyIdentifier: string) => ({ partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier, fspId } });
const QUOTE_REQUEST = {
  quoteId: '8a1b9c2d-0000-4000-8000-000000000001',
  transactionId: '8a1b9c2d-0000-4000-8000-000000000002',
  payee: party('payeefsp', '27713803912'),
  payer: party('payerfsp', '44123456789'),
  amountType: 'SEND',
  transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
};

/** The payee's answer to a quote for `amount`: the SDK puts `transferAmount` in the packet. */
const quote = (amount: Money) =>
  [
    { ...QUOTE_REQUEST, amount },
    { transferAmount: amount, expiration: QUOTE_EXPIRATION },
  ] as const;

/** The payer's POST /transfers for the quote's packet, with the body amount `amount`. */
const prepare = (amount: Money, ilp: { ilpPacket: string; condition: string }): JsonObject => ({
  transferId: QUOTE_REQUEST.transactionId,
  payerFsp: 'payerfsp',
  payeeFsp: 'payeefsp',
  amount: { ...amount },
  ilpPacket: ilp.ilpPacket,
  condition: ilp.condition,
  expiration: TRANSFER_EXPIRATION,
});

const instances = new Map<SdkIlpWriter, SdkIlp>();
/** The packet a writer makes for `amount`, or undefined when it makes none (v4 with a fractional minor amount, …). */
function written(w: SdkIlpWriter, amount: Money): SdkIlpResult | undefined {
  const [request, response] = quote(amount);
  let ilp = instances.get(w);
  if (ilp === undefined) {
    ilp = w.make(SECRET);
    instances.set(w, ilp);
  }
  try {
    return ilp.getQuoteResponseIlp(request, response);
  } catch {
    return undefined;
  }
}

/** The GatewayError code a check throws, or 'passed'. */
function outcome(check: () => unknown): string {
  try {
    check();
    return 'passed';
  } catch (e) {
    if (e instanceof GatewayError) return e.code;
    throw e;
  }
}
const hub = (body: JsonObject, v: IlpVersion) => outcome(() => checkHubPrepare(body, v, { now: T0, maxAheadSeconds: 86_400, destination: 'payeefsp' }));
const payee = (body: JsonObject, v: IlpVersion) => outcome(() => checkDfspTransfer(body, v, KEYRING, T0, 86_400));

/** `units` × 10^-4 as an FSPIOP Amount (no trailing zeros). */
function fromUnits(units: bigint): string {
  const int = units / 10_000n;
  const frac = (units % 10_000n).toString().padStart(4, '0').replace(/0+$/, '');
  return frac ? `${int}.${frac}` : `${int}`;
}
const toUnits = (amount: string): bigint => {
  const [int = '0', frac = ''] = amount.split('.');
  return BigInt(int) * 10_000n + BigInt(frac.padEnd(4, '0'));
};
const MAX_UNITS = 10n ** 22n - 1n; // 999999999999999999.9999, the largest FSPIOP Amount

/** Amounts over the whole FSPIOP range, weighted to everyday sizes. */
const amountArb = fc
  .oneof(
    { weight: 3, arbitrary: fc.bigInt({ min: 1n, max: 10_000_000n }) },
    { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 14n }) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: MAX_UNITS }) },
  )
  .map(fromUnits);
const CURRENCIES = ['USD', 'EUR', 'BHD', 'JOD', 'KWD', 'JPY', 'XOF', 'CLF', 'XXX', 'XTS'] as const;
const moneyArb = fc.record({ amount: amountArb, currency: fc.constantFrom(...CURRENCIES) });

// The table: every USD amount from 0.01 to 99.99, then the edges by number of decimals (3: BHD JOD KWD; 0: JPY XOF;
// 4: CLF and the test currencies XXX XTS, which SDKs before 19.4.0 scaled with 0 decimals), and a fixed sample.
const EVERYDAY_USD: Money[] = Array.from({ length: 9999 }, (_, i) => ({ amount: fromUnits(BigInt(i + 1) * 100n), currency: 'USD' }));
const EDGES: Record<string, readonly string[]> = {
  USD: [
    '0',
    '0.0001',
    '0.005',
    '1.005',
    '100.5',
    '100.50',
    '19.990',
    '12345.678',
    '1234567.891',
    '123456.785',
    '90071992547409.93',
    '123456789012345.67',
    '99999999999999.9999',
    '184467440737095516.15',
    '184467440737095516.16',
    '999999999999999999',
    '999999999999999999.9999',
  ],
  EUR: ['0.1', '0.3', '4.35', '19.99', '1000000', '12345678.9'],
  BHD: ['0', '0.001', '0.1', '1.005', '12.345', '1234.567', '99999.999', '123456.7891', '18446744073709551.615', '999999999999999999.999'],
  JOD: ['0.7', '2.675', '4.35', '1234567.891', '999999999999999999'],
  KWD: ['0.001', '19.99', '123456789.123', '999999999999999999.9999'],
  JPY: ['0', '1', '0.5', '12345', '99999999', '123456789', '1234.5678', '184467440737095516', '999999999999999999', '999999999999999999.9999'],
  XOF: ['1', '250', '100000000', '999999999999999999'],
  CLF: ['0.0001', '1.2345', '4.35', '100000000000000000', '99999999999999999.9999', '999999999999999999.9999'],
  XXX: ['0', '0.0001', '10.5', '1.2345', '100000000000000000', '999999999999999999.9999'],
  XTS: ['0.01', '19.99', '123456.7891', '999999999999999999'],
};
const SAMPLE: Money[] = fc.sample(moneyArb, { numRuns: 400, seed: 20301 });
const WIDE: Money[] = [...Object.entries(EDGES).flatMap(([currency, amounts]) => amounts.map((amount) => ({ amount, currency }))), ...SAMPLE];

/**
 * Runs the writer over the amounts; returns the misses of the hub and the payee check (the payee check needs the
 * quote expiry inside the packet, which 17.x does not write: a payee-role gateway refuses its packets with 3302
 * whatever the amount), and what was made.
 */
function sweep(w: SdkIlpWriter, amounts: readonly Money[]) {
  const misses: string[] = [];
  const made: { amount: Money; packetAmount: string }[] = [];
  for (const amount of amounts) {
    const ilp = written(w, amount);
    if (ilp === undefined) continue;
    const body = prepare(amount, ilp);
    const results = [hub(body, w.version), ...(w.quoteExpiry ? [payee(body, w.version)] : [])];
    if (results.some((r) => r !== 'passed')) misses.push(`${amount.amount} ${amount.currency}: ${results.join(' / ')}`);
    made.push({ amount, packetAmount: decodePacket(ilp.ilpPacket, w.version).amount });
  }
  return { misses, made };
}

/** The scaled amount is an integer below 1e21 (bignumber.js writes it without an exponent). */
const exactAndSmall = (m: Money): boolean => /^\d{1,21}$/.test(scaleAmount(m.amount, m.currency));

const writer = (release: string, version: IlpVersion) => SDK_ILP_WRITERS.find((w) => w.release === release && w.version === version)!;
const SDK_17 = writer('17.4.0', '1');

describe('packet amounts of the SDK generations in the field pass the prepare checks (hub and payee)', () => {
  test('the installed SDKs are the releases the writers name', () => {
    for (const [named, installed] of INSTALLED_SDK_VERSIONS) assert.equal(installed, named);
  });

  test('17.4.0 (sdk-scheme-adapter 18.0.2) v1, every USD amount 0.01 … 99.99: 1146 of them (11.5 %) carry a floating-point artefact', () => {
    const { misses, made } = sweep(SDK_17, EVERYDAY_USD);
    assert.deepEqual(misses, []);
    assert.equal(made.length, 9999);
    const exact = (m: Money) => packetAmountsFor(m.amount, m.currency, '4').values().next().value;
    const artefacts = made.filter((p) => p.packetAmount !== exact(p.amount));
    assert.equal(artefacts.length, 1146);
    const byAmount = new Map(made.map((p) => [p.amount.amount, p.packetAmount]));
    assert.equal(byAmount.get('19.99'), '19989999999998'); // 1998.9999999999998 read in 8-character chunks
    assert.equal(byAmount.get('4.35'), '4349999999994');
    assert.equal(byAmount.get('1.1'), '1100000000001');
    assert.equal(byAmount.get('0.3'), '30');
  });

  for (const w of [writer('19.19.1', '1'), writer('19.19.1', '4'), writer('19.4.0–19.16.8', '4')]) {
    test(`${w.release} v${w.version}${w.emulated ? ' (emulated)' : ''}, every USD amount 0.01 … 99.99`, () => {
      const { misses, made } = sweep(w, EVERYDAY_USD);
      assert.deepEqual(misses, []);
      // v4 refuses a fractional scaled text: the Number product of 19.99 (1998.9999999999998) makes no v4 packet
      assert.equal(made.length, w.emulated ? 9999 - 1146 : 9999);
      // and every packet these make for an everyday amount carries the exact amount
      assert.deepEqual(
        made.filter((p) => p.packetAmount !== scaleAmount(p.amount.amount, 'USD')),
        [],
      );
    });
  }

  for (const w of SDK_ILP_WRITERS) {
    test(`${w.release} v${w.version}${w.emulated ? ' (emulated)' : ''}: edges of every decimals class and ${SAMPLE.length} sampled amounts`, () => {
      const { misses, made } = sweep(w, WIDE);
      assert.deepEqual(misses, []);
      if (w.version === '1')
        assert.equal(made.length, WIDE.length); // v1 writes a packet for every FSPIOP amount
      else if (!w.emulated)
        assert.equal(made.length, WIDE.filter(exactAndSmall).length); // ml-number: an integer below 1e21
      else assert.ok(made.length > 100, `${made.length} packets made`);
    });
  }

  test('the artefacts the issue names, from the real libraries', () => {
    const amountOf = (w: SdkIlpWriter, amount: string, currency = 'USD') => {
      const ilp = written(w, { amount, currency });
      return ilp && decodePacket(ilp.ilpPacket, w.version).amount;
    };
    const v1 = writer('19.19.1', '1');
    const v4 = writer('19.19.1', '4');
    assert.equal(amountOf(v1, '12345.678'), '12345678'); // "1234567.8" → 1234567 × 10 + 8
    assert.equal(amountOf(v1, '1234567.891'), '12345678009'); // "123456789.1" → 12345678 × 1000 + parseInt("9.1")
    assert.equal(amountOf(v4, '12345.678'), undefined); // v4: "after scaling should be integer"
    assert.equal(amountOf(SDK_17, '1234567.891'), '123456780000000901');
    assert.equal(amountOf(SDK_17, '999999999999999999', 'BHD'), '1'); // Number → 1e18, × 1000 → "1e+21" → parseInt → 1
    assert.equal(amountOf(v4, '999999999999999999', 'BHD'), ((10n ** 21n - 1000n) % 2n ** 64n).toString()); // modulo 2^64
    assert.equal(amountOf(SDK_17, '10.5', 'XXX'), '10'); // XXX had 0 decimals before 19.4.0
    assert.equal(amountOf(v1, '10.5', 'XXX'), '105000');
  });

  test("the gateway's own v1 packet for 12345.678 USD passes its own payee check (it carries 12345678)", () => {
    const [request, response] = quote({ amount: '12345.678', currency: 'USD' });
    const ilp = buildIlp('1', transactionObjectOf(request, response), KEYRING);
    assert.equal(decodePacket(ilp.ilpPacket).amount, '12345678');
    assert.equal(payee(prepare({ amount: '12345.678', currency: 'USD' }, ilp), '1'), 'passed');
  });
});

describe('packetAmountsFor', () => {
  test('the exact amount first, then the writers’ artefacts, each at most once', () => {
    assert.deepEqual([...packetAmountsFor('19.99', 'USD', '1')], ['1999', '19989999999998']);
    assert.deepEqual([...packetAmountsFor('19.99', 'USD', '4')], ['1999']);
    assert.deepEqual([...packetAmountsFor('12345.678', 'USD', '1')], ['1234567', '12345678']);
    assert.deepEqual([...packetAmountsFor('12345.678', 'USD', '4')], []);
    assert.deepEqual([...packetAmountsFor('1234567.891', 'USD', '1')], ['123456789', '12345678009', '123456780000000901']);
    assert.deepEqual([...packetAmountsFor('100.50', 'USD', '1')], ['10050']);
    assert.deepEqual([...packetAmountsFor('10.5', 'XXX', '1')], ['105000', '10']);
    assert.deepEqual([...packetAmountsFor('100000000000000000', 'CLF', '4')], ['1000000000000000000000', (10n ** 21n % 2n ** 64n).toString()]);
  });

  test('an amount FSPIOP does not allow gets the exact amount only', () => {
    assert.deepEqual([...packetAmountsFor('1234567.89123', 'USD', '1')], ['123456789']);
    assert.deepEqual([...packetAmountsFor(`1${'0'.repeat(400)}`, 'USD', '1')], [`1${'0'.repeat(402)}`]);
  });

  test('an amount that cannot be carried throws, as scaleAmount', () => {
    assert.throws(() => packetAmountsFor('1', 'ABC', '1'), TypeError);
    assert.throws(() => packetAmountsFor('-1', 'USD', '1'), TypeError);
    assert.throws(() => packetAmountsFor('1e3', 'USD', '4'), TypeError);
  });

  test('a packet amount the transaction object explains as another amount is refused; one it does not explain passes', () => {
    const named = { amount: '19.99', currency: 'USD' };
    assert.equal(packetAmountMatches('19989999999998', '1', named, named), true);
    // 199899999999.98 USD scales exactly to 19989999999998, but the packet's own transaction names 19.99
    assert.equal(packetAmountMatches('19989999999998', '1', { amount: '199899999999.98', currency: 'USD' }, named), false);
    assert.equal(packetAmountMatches('1999', '1', { amount: '19.99', currency: 'EUR' }, named), false);
    assert.equal(packetAmountMatches('1999', '1', { amount: '19.990', currency: 'USD' }, named), true);
    // a payee that names the amount it receives (100) and puts the transfer amount (100.50) in the packet
    assert.equal(packetAmountMatches('10050', '1', { amount: '100.5', currency: 'USD' }, { amount: '100', currency: 'USD' }), true);
  });

  test('every candidate but the exact one is a uint64, and there are at most five (property)', () => {
    fc.assert(
      fc.property(moneyArb, fc.constantFrom<IlpVersion>('1', '4'), (m, v) => {
        const set = [...packetAmountsFor(m.amount, m.currency, v)];
        assert.ok(set.length <= 5);
        for (const p of set.slice(1)) assert.ok(/^\d+$/.test(p) && BigInt(p) < 2n ** 64n, p);
      }),
      { numRuns: 500 },
    );
  });
});

/** A packet for a transaction of `named` whose amount field is `packetAmount`, with the condition the payee issues (keyring). */
function packetWithAmount(v: IlpVersion, named: Money, packetAmount: string): { ilpPacket: string; condition: string } {
  const [request, response] = quote(named);
  const { json, dataText } = encodeTransaction(transactionObjectOf(request, response));
  const data = Buffer.from(dataText, 'ascii');
  if (v === '1') {
    const ilpPacket = serializeIlpPayment({ amount: packetAmount, account: 'g.payeefsp.msisdn.27713803912', data }).toString('base64url');
    return { ilpPacket, condition: conditionOf(KEYRING.generate(ilpPacket)) };
  }
  const condition = conditionOf(KEYRING.generate(v4Message(json)));
  const executionCondition = Buffer.from(condition, 'base64url');
  const ilpPacket = serializeIlpPrepare({ amount: packetAmount, destination: 'g.mojaloop', expiresAt: new Date(QUOTE_EXPIRATION), executionCondition, data });
  return { ilpPacket: ilpPacket.toString('base64url'), condition };
}

describe('refusals (properties)', () => {
  const candidateNear = (m: Money, v: IlpVersion, pick: number, delta: bigint): string => {
    const set = [...packetAmountsFor(m.amount, m.currency, v)];
    const base = set.length > 0 ? BigInt(set[pick % set.length]!) : 0n;
    const p = base + delta;
    return `${(p < 0n ? -p : p) % 2n ** 64n}`;
  };

  test('a packet whose amount is none of the candidates for the body amount is refused by the hub and the payee', () => {
    fc.assert(
      fc.property(
        moneyArb,
        fc.constantFrom<IlpVersion>('1', '4'),
        fc.oneof(
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((p) => () => p.toString()),
          fc.tuple(fc.nat(), fc.bigInt({ min: -1000n, max: 1000n })).map(
            ([i, d]) =>
              (m: Money, v: IlpVersion) =>
                candidateNear(m, v, i, d),
          ),
        ),
        (m, v, packetAmountOf) => {
          const packetAmount = packetAmountOf(m, v);
          fc.pre(!packetAmountsFor(m.amount, m.currency, v).has(packetAmount));
          const body = prepare(m, packetWithAmount(v, m, packetAmount));
          assert.equal(hub(body, v), 'GW_ILP_PACKET_MISMATCH');
          assert.equal(payee(body, v), 'GW_ILP_PACKET_MISMATCH');
        },
      ),
      { numRuns: 400 },
    );
  });

  /** Another amount: a step of 10^-4 … 10^4 up or down, any other amount, or the same number in another currency. */
  const changeArb = fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 8 }), fc.boolean()).map(([k, e, up]) => (m: Money): Money => {
      const step = BigInt(k) * 10n ** BigInt(e);
      const units = toUnits(m.amount) + (up ? step : -step);
      return { amount: fromUnits(units < 0n ? toUnits(m.amount) + step : units), currency: m.currency };
    }),
    amountArb.map(
      (amount) =>
        (m: Money): Money => ({ amount, currency: m.currency }),
    ),
    fc.constantFrom(...CURRENCIES).map(
      (currency) =>
        (m: Money): Money => ({ amount: m.amount, currency }),
    ),
  );

  test("changing the body amount refuses the real SDK's packet, hub and payee (every writer)", () => {
    fc.assert(
      fc.property(moneyArb, fc.constantFrom(...SDK_ILP_WRITERS), changeArb, (quoted, w, change) => {
        const ilp = written(w, quoted);
        fc.pre(ilp !== undefined);
        const changed = change(quoted);
        fc.pre(changed.currency !== quoted.currency || toUnits(changed.amount) !== toUnits(quoted.amount));
        const body = prepare(changed, ilp!);
        assert.equal(hub(body, w.version), 'GW_ILP_PACKET_MISMATCH', `${w.release} v${w.version} ${quoted.amount} → ${changed.amount} ${changed.currency}`);
        if (w.quoteExpiry) assert.equal(payee(body, w.version), 'GW_ILP_PACKET_MISMATCH');
        assert.equal(hub(prepare(quoted, ilp!), w.version), 'passed');
      }),
      { numRuns: 600 },
    );
  });

  test('the change to an amount that scales exactly to the 17.4 artefact is refused too (199899999999.98 USD for 19.99)', () => {
    const ilp = written(SDK_17, { amount: '19.99', currency: 'USD' })!;
    assert.equal(hub(prepare({ amount: '199899999999.98', currency: 'USD' }, ilp), '1'), 'GW_ILP_PACKET_MISMATCH');
  });
});

describe('through the hub pipeline', () => {
  test('19.99 USD between two sdk-scheme-adapter 18.0.2 (sdk-standard-components 17.4, v1) passes; 19.98 is refused', async () => {
    const { call, close } = ilpApp({
      config: testConfig({ GATEWAY_ROLE: 'hub', ILP_VERSION: '1' }),
      store: createMemoryStore({ maxEntries: 100, now: () => T0 }),
      now: () => T0,
    });
    try {
      const ilp = written(SDK_17, { amount: '19.99', currency: 'USD' })!;
      assert.equal(decodePacket(ilp.ilpPacket).amount, '19989999999998');
      const changed = await call('POST', '/transfers', {
        ...prepare({ amount: '19.98', currency: 'USD' }, ilp),
        transferId: 'b51ec534-ee48-4575-b6a9-ead2955b8069',
      });
      assert.equal(changed.code, '3100');
      const r = await call('POST', '/transfers', prepare({ amount: '19.99', currency: 'USD' }, ilp));
      assert.equal(r.status, 200);
      assert.equal(r.json.upstream, true);
    } finally {
      await close();
    }
  });
});
