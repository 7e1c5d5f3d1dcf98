// The transaction object carried in the packet's data (the SDK's transactionObjectDto) and its wire form:
// data = ASCII text of base64url(UTF-8(canonical JSON)).
import { canonicalJson } from '../fspiop/canonical-json.js';
import { jsonLimitExceeded } from '../fspiop/json-limits.js';

export type JsonObject = Record<string, unknown>;

/**
 * The SDK's `transactionObjectDto(quoteRequest, quoteResponse)`: quoteId, transactionId, transactionType,
 * payee, payer from the request; expiration, amount (= transferAmount) and a truthy note from the response.
 */
export function transactionObjectOf(quoteRequest: JsonObject, quoteResponse: JsonObject): JsonObject {
  const { quoteId, transactionId, transactionType, payee, payer } = quoteRequest;
  const { transferAmount, expiration, note } = quoteResponse;
  return { quoteId, transactionId, transactionType, payee, payer, expiration, amount: transferAmount, ...(note ? { note } : {}) };
}

/** The SDK's `getFxQuoteResponseIlp` object: `{ conversionRequestId, conversionTerms }`. */
export function fxTransactionObjectOf(fxQuoteRequest: JsonObject, fxQuoteResponse: JsonObject): JsonObject {
  return { conversionRequestId: fxQuoteRequest.conversionRequestId, conversionTerms: fxQuoteResponse.conversionTerms };
}

/** Canonical JSON text and the packet data text (base64url of its UTF-8 bytes). */
export function encodeTransaction(tx: JsonObject): { json: string; dataText: string } {
  const json = canonicalJson(tx);
  return { json, dataText: Buffer.from(json, 'utf8').toString('base64url') };
}

/**
 * The JSON text inside a data field, or undefined when it is not base64url of UTF-8 JSON object text
 * nested at most MAX_JSON_DEPTH deep (a packet carries its own JSON, unseen by the body check).
 */
export function decodeTransaction(dataText: string): { json: string; tx: JsonObject } | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(dataText)) return undefined;
  const bytes = Buffer.from(dataText, 'base64url');
  if (jsonLimitExceeded(bytes) !== undefined) return undefined;
  const json = bytes.toString('utf8');
  try {
    const tx: unknown = JSON.parse(json);
    if (tx === null || typeof tx !== 'object' || Array.isArray(tx)) return undefined;
    return { json, tx: tx as JsonObject };
  } catch {
    return undefined; // not JSON: the caller rejects the packet
  }
}

/** Whether a member is present: neither absent nor null (FSPIOP treats a null member as absent). */
export const has = (o: JsonObject, k: string): boolean => o[k] !== undefined && o[k] !== null;

/** Reads a nested member: path(['payee','partyIdInfo','fspId']). */
export function pick(o: unknown, path: readonly string[]): unknown {
  let v: unknown = o;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as JsonObject)[p];
  }
  return v;
}
