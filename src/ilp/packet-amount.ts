// Which ILP packet amounts the gateway and the sdk-standard-components generations in the field write for a
// body amount, and the rule comparing a received packet's amount with the body (docs/ilp.md "Packet amounts").
//
// Every writer scales the amount to a text and hands that text to the packet library:
// - sdk-standard-components ≥ 19.16.9 (src/lib/ilp/IlpBase.js _getIlpCurrencyAmount):
//   `new MLNumber(amount).shiftedBy(decimals).toString()`, exact (bignumber.js; exponential from 1e21 on), and the
//   gateway itself (packet.ts, currency.ts scaleAmount: the same digits, never exponential);
// - sdk-standard-components ≤ 19.16.8, 17.x included (17.4: src/lib/ilp/index.js; 19.x: IlpBase.js):
//   `${Number(amount) * Math.pow(10, decimals)}`, a binary floating-point product (19.99 → "1998.9999999999998");
//   before 19.4.0 its currency.json gave XXX and XTS 0 decimals instead of 4.
// The v1 library (ilp-packet 2.2.0 / ilp-packet-v1 2.2.0, serializeIlpPayment) turns the text into the
// uint64 with long.js 3.2.0 `Long.fromString(text, true)`: 8-character chunks, each through `parseInt`,
// value = value × 10^chunkLength + parseInt(chunk) (NaN counts 0), wrapping modulo 2^64; so "1998.9999999999998"
// becomes 19989999999998 and "1234567.8" 12345678. The v4 library (ilp-packet 3.x serializeIlpPrepare,
// oer-utils 5 writeUInt64) takes only an all-digit text, also modulo 2^64; the SDK refuses any other (19.4.0 on:
// "Ilp packet `amount` after scaling should be integer"; before: oer-utils "UInt must be an integer").
import { currencyDecimals, normaliseAmount, scaleAmount } from './currency.js';
import type { IlpVersion } from './keyring.js';

export interface Money {
  readonly amount: string;
  readonly currency: string;
}

const UINT64 = 1n << 64n;

/**
 * long.js 3.2.0 `Long.fromString(text, true)` as ilp-packet 2.2.0 serialises a v1 amount, for the texts the writers
 * make of an FSPIOP amount (digits, at most one '.', or bignumber/Number exponent notation `d.ddde+NN`, never
 * negative, NaN or Infinity); undefined where long.js throws ("interior hyphen": an `e-` exponent).
 */
function v1Encode(text: string): string | undefined {
  if (text === '' || text.includes('-')) return undefined;
  let value = 0n;
  for (let i = 0; i < text.length; i += 8) {
    const chunk = text.slice(i, i + 8);
    const n = Number.parseInt(chunk, 10);
    value = (value * 10n ** BigInt(chunk.length) + (Number.isNaN(n) ? 0n : BigInt(n))) % UINT64;
  }
  return value.toString();
}

/** ilp-packet 3.x serializeIlpPrepare: an all-digit text modulo 2^64 (chunking cannot change digits); anything else makes no packet. */
const v4Encode = (text: string): string | undefined => (/^\d+$/.test(text) ? v1Encode(text) : undefined);

/** bignumber.js `toString()` of a plain decimal text (the default EXPONENTIAL_AT [-7, 20]): exponential from 1e21 on. */
function bigNumberText(plain: string): string {
  const [int = '', frac = ''] = plain.split('.');
  if (int.length <= 21) return plain; // scaleAmount strips leading zeros: fewer than 22 integer digits is below 1e21
  const digits = `${int}${frac}`.replace(/0+$/, '');
  return `${digits[0]}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e+${int.length - 1}`;
}

/** currency.json of sdk-standard-components before 19.4.0 (commit 2bb792f "increased scale for test currencies"). */
const DECIMALS_BEFORE_19_4: Readonly<Record<string, number>> = { XXX: 0, XTS: 0 };

/**
 * FSPIOP Amount (API Definition §7.2.1; api-snippets Amount.yaml `^([0]|([1-9][0-9]{0,17}))([.][0-9]{0,3}[1-9])?$`)
 * of the canonical text: the only amounts a quote can carry to a writer (trailing zeros aside, which change no
 * writer's text: normaliseAmount drops them and Number ignores them).
 */
const FSPIOP_AMOUNT = /^(?:0|[1-9]\d{0,17})(?:\.\d{0,3}[1-9])?$/;

/**
 * The packet amounts (uint64 decimal strings) that may stand for `amount` in `currency` in a packet of ILP
 * `version`: first the exact scaled amount (v1 truncating a fraction, as the gateway has always compared; v4 only
 * when it is whole), then, for an amount FSPIOP allows, what each writer's scaled text becomes in the packet
 * library. At most five values, each a fixed function of the amount (docs/ilp.md "Packet amounts").
 * @throws TypeError for a currency without decimal place data or an amount that is not a non-negative decimal.
 */
export function packetAmountsFor(amount: string, currency: string, version: IlpVersion): ReadonlySet<string> {
  const exact = scaleAmount(amount, currency);
  const out = new Set<string>();
  if (version === '1') out.add(exact.split('.')[0]!);
  else if (!exact.includes('.')) out.add(exact);
  if (!FSPIOP_AMOUNT.test(normaliseAmount(amount)!)) return out;
  const decimals = currencyDecimals(currency)!; // scaleAmount threw for an unknown currency
  // 10 ** d is Math.pow(10, d) for these small integer exponents (exact doubles)
  const texts = [exact, bigNumberText(exact), `${Number(amount) * 10 ** decimals}`];
  const legacy = DECIMALS_BEFORE_19_4[currency];
  if (legacy !== undefined) texts.push(`${Number(amount) * 10 ** legacy}`);
  const encode = version === '1' ? v1Encode : v4Encode;
  for (const t of texts) {
    const p = encode(t);
    if (p !== undefined) out.add(p);
  }
  return out;
}

const sameMoney = (a: Money, b: Money): boolean =>
  a.currency === b.currency && normaliseAmount(a.amount) !== undefined && normaliseAmount(a.amount) === normaliseAmount(b.amount);

function amountsOrNone(m: Money, version: IlpVersion): ReadonlySet<string> {
  try {
    return packetAmountsFor(m.amount, m.currency, version);
  } catch {
    return new Set(); // no writer makes a packet for it
  }
}

/**
 * The comparison rule: the packet amount is one the writers put in a packet for the body amount, and, when
 * the packet's own transaction object names a different amount (`named`), not one they put there for that
 * amount: a real writer's packet then encodes `named`, so the body amount was changed.
 * @throws TypeError when the body amount cannot be carried in a packet (as packetAmountsFor).
 */
export function packetAmountMatches(packetAmount: string, version: IlpVersion, body: Money, named?: Money): boolean {
  if (!packetAmountsFor(body.amount, body.currency, version).has(packetAmount)) return false;
  return named === undefined || sameMoney(named, body) || !amountsOrNone(named, version).has(packetAmount);
}

/** `{amount, currency}` of a JSON value when both are strings. */
export function moneyOf(v: unknown): Money | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const { amount, currency } = v as Record<string, unknown>;
  return typeof amount === 'string' && typeof currency === 'string' ? { amount, currency } : undefined;
}
