// ILP packet codecs byte-compatible with Mojaloop's SDK (src/lib/ilp; Interledger RFC 0027 for v4):
// v1 = "ILP Payment" (ilp-packet-v1, type 1), v4 = ILPv4 Prepare (ilp-packet, type 12).
// Order of work: v1 packet → fulfilment (HMAC of the packet text) → condition;
// v4 fulfilment (HMAC of the padded base64 of the JSON) → condition → packet (embeds the condition).
import { deserializeIlpPrepare, serializeIlpPrepare } from 'ilp-packet';
import { deserializeIlpPayment, serializeIlpPayment } from 'ilp-packet-v1';
import { GatewayError } from '../errors.js';
import { canonicalJson } from '../fspiop/canonical-json.js';
import { conditionOf } from './crypto.js';
import { scaleAmount } from './currency.js';
import type { IlpKeyring, IlpVersion } from './keyring.js';
import { decodeTransaction, encodeTransaction, fxTransactionObjectOf, type JsonObject, pick, transactionObjectOf } from './transaction.js';

/** v4 destination: the SDK never encodes the payee (constant ILP_ADDRESS). */
const V4_DESTINATION = 'g.mojaloop';
const FX_AMOUNT = '0';

export interface IlpResult {
  readonly fulfilment: string;
  readonly condition: string;
  readonly ilpPacket: string;
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || v === '') throw new TypeError(`transaction object lacks ${what}`);
  return v;
};

function amountOf(tx: JsonObject): string {
  if (tx.conversionTerms) return FX_AMOUNT;
  return scaleAmount(str(pick(tx, ['amount', 'amount']), 'amount.amount'), str(pick(tx, ['amount', 'currency']), 'amount.currency'));
}

/** v1 ILP address: g.<fspId>.<idType>.<identifier>[.<subId>] lower-cased except the fspId; FX: g.<fxp>.<src>.<tgt>. */
function v1Address(tx: JsonObject): string {
  const terms = tx.conversionTerms;
  if (terms) {
    const part = (p: string[]) => str(pick(terms, p), p.join('.')).toLowerCase();
    return `g.${part(['counterPartyFsp'])}.${part(['sourceAmount', 'currency'])}.${part(['targetAmount', 'currency'])}`;
  }
  const info = pick(tx, ['payee', 'partyIdInfo']);
  const sub = pick(info, ['partySubIdOrType']);
  return (
    `g.${String(pick(info, ['fspId']))}.${str(pick(info, ['partyIdType']), 'payee.partyIdInfo.partyIdType').toLowerCase()}` +
    `.${str(pick(info, ['partyIdentifier']), 'payee.partyIdInfo.partyIdentifier').toLowerCase()}` +
    (typeof sub === 'string' && sub !== '' ? `.${sub.toLowerCase()}` : '')
  );
}

/** The fulfilment message of a v4 packet: standard padded base64 of the JSON text (as found in data). */
export const v4Message = (json: string): string => Buffer.from(json, 'utf8').toString('base64');

/**
 * Packet, fulfilment and condition for a transaction object, as the SDK's `getResponseIlp` makes them.
 * @throws TypeError when the object lacks a field the packet needs, the currency is unknown, or (v4) the
 * scaled amount is fractional or the expiration unparsable.
 */
export function buildIlp(version: IlpVersion, tx: JsonObject, keyring: IlpKeyring): IlpResult {
  const { json, dataText } = encodeTransaction(tx);
  const data = Buffer.from(dataText, 'ascii');
  if (version === '1') {
    const ilpPacket = serializeIlpPayment({ amount: amountOf(tx), account: v1Address(tx), data }).toString('base64url');
    const f = keyring.generate(ilpPacket);
    return { fulfilment: f.toString('base64url'), condition: conditionOf(f), ilpPacket };
  }
  const amount = amountOf(tx);
  if (amount.includes('.')) throw new TypeError('Ilp packet `amount` after scaling should be integer');
  const expiresAt = new Date(String(tx.conversionTerms ? pick(tx, ['conversionTerms', 'expiration']) : tx.expiration));
  if (Number.isNaN(expiresAt.getTime())) throw new TypeError('Invalid ILP expiration date');
  const f = keyring.generate(v4Message(json));
  const condition = conditionOf(f);
  const ilpPacket = serializeIlpPrepare({
    amount,
    destination: V4_DESTINATION,
    expiresAt,
    executionCondition: Buffer.from(condition, 'base64url'),
    data,
  }).toString('base64url');
  return { fulfilment: f.toString('base64url'), condition, ilpPacket };
}

/** The SDK's `getQuoteResponseIlp(quoteRequest, quoteResponse)`. */
export const quoteResponseIlp = (version: IlpVersion, quoteRequest: JsonObject, quoteResponse: JsonObject, keyring: IlpKeyring): IlpResult =>
  buildIlp(version, transactionObjectOf(quoteRequest, quoteResponse), keyring);

/** The SDK's `getFxQuoteResponseIlp(fxQuoteRequest, fxQuoteResponse)`: amount 0, conversionTerms expiry. */
export const fxQuoteResponseIlp = (version: IlpVersion, fxQuoteRequest: JsonObject, fxQuoteResponse: JsonObject, keyring: IlpKeyring): IlpResult =>
  buildIlp(version, fxTransactionObjectOf(fxQuoteRequest, fxQuoteResponse), keyring);

export interface DecodedPacket {
  readonly version: IlpVersion;
  /** Amount in minor units (uint64 as a decimal string). */
  readonly amount: string;
  /** v1 account / v4 destination. */
  readonly address: string;
  /** v4 only. */
  readonly expiresAt?: Date;
  /** v4 only: the 32 raw condition bytes. */
  readonly condition?: Buffer;
  /** The JSON text inside data (exactly as found) and its parsed transaction object. */
  readonly json: string;
  readonly transaction: JsonObject;
}

/** FSPIOP IlpPacket pattern (API Definition §7.2.17) and its 32768-character bound. */
const PACKET_FORM = /^[A-Za-z0-9_-]+={0,2}$/;

/**
 * Decodes an ilpPacket string. The type byte tells v1 (0x01) from v4 (0x0c); with `expect`, the other
 * type is rejected.
 * @throws GatewayError GW_ILP_PACKET_MALFORMED when the text, the packet or its data does not decode.
 */
export function decodePacket(text: unknown, expect?: IlpVersion): DecodedPacket {
  const bad = (detail: string, cause?: unknown) => new GatewayError('GW_ILP_PACKET_MALFORMED', { detail, ...(cause !== undefined ? { cause } : {}) });
  if (typeof text !== 'string' || text.length > 32768 || !PACKET_FORM.test(text)) throw bad('ilpPacket is not base64url text');
  const bytes = Buffer.from(text, 'base64url');
  const version: IlpVersion | undefined = bytes[0] === 0x01 ? '1' : bytes[0] === 0x0c ? '4' : undefined;
  if (version === undefined) throw bad('ilpPacket is not an ILP Payment or ILPv4 Prepare');
  if (expect !== undefined && version !== expect) throw bad(`ilpPacket is not of ILP version ${expect}`);
  let base: { amount: string; address: string; data: Buffer; expiresAt?: Date; condition?: Buffer };
  try {
    if (version === '1') {
      const p = deserializeIlpPayment(bytes);
      base = { amount: p.amount, address: p.account, data: p.data };
    } else {
      const p = deserializeIlpPrepare(bytes);
      base = { amount: p.amount, address: p.destination, data: p.data, expiresAt: p.expiresAt, condition: p.executionCondition };
    }
  } catch (cause) {
    throw bad('ilpPacket does not decode', cause);
  }
  const t = decodeTransaction(base.data.toString('latin1'));
  if (t === undefined) throw bad('ilpPacket data is not a transaction object');
  const { data: _data, ...rest } = base;
  return { version, ...rest, json: t.json, transaction: t.tx };
}

/** The fulfilment message of a received packet: v1 the packet text itself; v4 the base64 of its data JSON. */
export function fulfilmentMessage(packetText: string, decoded: DecodedPacket): string {
  return decoded.version === '1' ? packetText : v4Message(decoded.json);
}

/**
 * The v4 fulfilment message of `text` as sdk-standard-components derives it (IlpV4.calculateFulfil: the packet and its
 * data decoded leniently, the JSON parsed and serialised again with safe-stable-stringify, i.e. canonicalJson:
 * src/lib/ilp/IlpBase.js getTransactionObject), or
 * undefined when it is no v4 Prepare with JSON in its data. A packet whose data holds an issued transaction in another
 * text still derives the issued fulfilment there.
 */
export function sdkV4Message(text: string): string | undefined {
  try {
    const data = deserializeIlpPrepare(Buffer.from(text, 'base64')).data.toString('utf8');
    return v4Message(canonicalJson(JSON.parse(Buffer.from(data, 'base64').toString('utf8'))));
  } catch {
    return undefined;
  }
}
