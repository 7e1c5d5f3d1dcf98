// Test fixtures for the ILP middleware: a small Hono app that sets the context variables the lead's
// pipeline sets, a telemetry recorder, a store wrapper counting round trips, and message builders.
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createKeyring, type IlpVersion } from '../../src/ilp/keyring.js';
import { buildIlp, type IlpResult } from '../../src/ilp/packet.js';
import { type JsonObject, transactionObjectOf } from '../../src/ilp/transaction.js';
import type { Store, StoreMark, StoreOp } from '../../src/store/types.js';
import { NOOP_TELEMETRY, type Telemetry } from '../../src/telemetry/types.js';
import { makeApp } from './app.js';

export const SECRET = 'test-ilp-secret-0123456789-abcdefghij';

/**
 * Most ILP tests prepare transfers without sending their quote through the hub first, so quote binding is off
 * here unless a test turns it on (test/unit/ilp/quote-binding.test.ts, iso20022.test.ts).
 */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ SWITCHGUARD_PROFILE: 'development', HUB_ID: 'hub', DFSP_ID: 'payeefsp', ILP_SECRET: SECRET, ILP_QUOTE_BINDING: 'off', ...env });
}

export interface Recorder extends Telemetry {
  readonly ilpEvents: { check: string; outcome: string; errorType?: string }[];
}
export function recorder(): Recorder {
  const ilpEvents: Recorder['ilpEvents'] = [];
  return {
    ...NOOP_TELEMETRY,
    ilpEvents,
    ilp: (e) => {
      ilpEvents.push({ check: e.check, outcome: e.outcome, ...(e.errorType ? { errorType: e.errorType } : {}) });
    },
  };
}

/** Wraps a store and counts every call that reaches the backing store (one call = one round trip). */
export function counting(inner: Store): Store & { calls: number } {
  const w = {
    calls: 0,
    kind: inner.kind,
    marked: <O extends StoreOp>(mark: StoreMark, op: O) => {
      w.calls++;
      return inner.marked(mark, op);
    },
    save: (...a: Parameters<Store['save']>) => {
      w.calls++;
      return inner.save(...a);
    },
    take: (...a: Parameters<Store['take']>) => {
      w.calls++;
      return inner.take(...a);
    },
    untake: (...a: Parameters<Store['untake']>) => {
      w.calls++;
      return inner.untake(...a);
    },
    get: (...a: Parameters<Store['get']>) => {
      w.calls++;
      return inner.get(...a);
    },
    delete: (...a: Parameters<Store['delete']>) => {
      w.calls++;
      return inner.delete(...a);
    },
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return w;
}

export interface AppOptions {
  config: Config;
  store: Store;
  telemetry?: Telemetry;
  now?: () => number;
  direction?: 'inbound' | 'outbound';
}

/**
 * The real pipeline in-process (test/helpers/app.ts) with the ILP stages the configuration gives the role
 * (none when ILP_CHECK=false, none outbound for the hub), JWS, replay protection and mTLS off so that the
 * ILP checks are what is exercised, and an upstream that echoes what reached it: `rewritten` is the message
 * the gateway forwarded when a stage changed it, else null.
 */
export function ilpApp(o: AppOptions) {
  const config: Config = { ...o.config, jwsVerify: undefined, jwsSigning: undefined, replayProtection: false, inboundMtls: false };
  // The bodies sent, by the request id the call gives them: concurrent calls must not mix them up.
  const sent = new Map<string, Buffer>();
  let next = 0;
  const ready = makeApp({
    config,
    store: o.store,
    telemetry: o.telemetry ?? NOOP_TELEMETRY,
    listener: o.direction ?? 'inbound',
    ...(o.now ? { now: o.now } : {}),
  }).then((app) => {
    app.upstream.answer = (r) => {
      const original = sent.get(String(r.headers['x-request-id']));
      const rewritten = original !== undefined && r.body.equals(original) ? null : (JSON.parse(r.body.toString('utf8')) as JsonObject);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ upstream: true, rewritten })) };
    };
    return app;
  });
  // A PUT is the payee's answer: it carries the payee's FSPIOP-Source unless the test sets another
  // (docs/security.md class 6: the hub accepts a fulfilment only from the payee recorded at prepare time).
  const call = async (method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const id = `call-${next++}`;
    const defaults: Record<string, string> = { 'fspiop-source': method === 'PUT' ? 'payeefsp' : 'payerfsp', 'x-request-id': id };
    const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    sent.set(id, bytes);
    const res = await (await ready).request(method, path, { body: bytes, headers: { ...defaults, ...headers } });
    sent.delete(id);
    const json = (await res.json()) as {
      upstream?: boolean;
      rewritten?: JsonObject | null;
      errorInformation?: { errorCode: string; errorDescription: string };
    };
    return { status: res.status, json, code: json.errorInformation?.errorCode };
  };
  return { call, close: async () => (await ready).close() };
}

export function quoteRequest(over: JsonObject = {}): JsonObject {
  return {
    quoteId: randomUUID(),
    transactionId: randomUUID(),
    payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' } },
    payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: 'payerfsp' }, name: 'Jane Doe' },
    amountType: 'RECEIVE',
    amount: { amount: '100', currency: 'USD' },
    transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
    ...over,
  };
}

export function quoteResponse(now: number, over: JsonObject = {}): JsonObject {
  return {
    transferAmount: { amount: '100.50', currency: 'USD' },
    payeeReceiveAmount: { amount: '100', currency: 'USD' },
    payeeFspFee: { amount: '0.50', currency: 'USD' },
    expiration: new Date(now + 60_000).toISOString(),
    ...over,
  };
}

/** A quote issued under `secret` and the POST /transfers body that follows it. */
export function issuedTransfer(version: IlpVersion, now: number, secret = SECRET, over: { quote?: JsonObject; response?: JsonObject } = {}) {
  const qr = quoteRequest(over.quote);
  const resp = quoteResponse(now, over.response);
  const ilp: IlpResult = buildIlp(version, transactionObjectOf(qr, resp), createKeyring([secret]));
  const prepare: JsonObject = {
    transferId: qr.transactionId,
    payerFsp: 'payerfsp',
    payeeFsp: 'payeefsp',
    amount: resp.transferAmount,
    ilpPacket: ilp.ilpPacket,
    condition: ilp.condition,
    expiration: new Date(now + 30_000).toISOString(),
  };
  return { quoteRequest: qr, quoteResponse: resp, ilp, prepare, transferId: qr.transactionId as string };
}

/**
 * A POST /bulkTransfers body from payerfsp to payeefsp whose items are issued transfers' prepares (`transferId`
 * each item's own, or one given), expiring at `expiration`; `over` replaces top-level members.
 */
export function bulkTransferOf(items: readonly { transferId: string; prepare: JsonObject }[], expiration: string, over: JsonObject = {}): JsonObject {
  return {
    bulkTransferId: randomUUID(),
    bulkQuoteId: randomUUID(),
    payerFsp: 'payerfsp',
    payeeFsp: 'payeefsp',
    individualTransfers: items.map((x) => ({
      transferId: x.transferId,
      transferAmount: x.prepare.amount,
      ilpPacket: x.prepare.ilpPacket,
      condition: x.prepare.condition,
    })),
    expiration,
    ...over,
  };
}

export const fulfilBody = (fulfilment: string) => ({ fulfilment, completedTimestamp: new Date().toISOString(), transferState: 'COMMITTED' });

/** An FX quote the FXP behind the gateway answers, and the POST /fxTransfers that follows it. */
export function fxConversion(now: number, o: { termsMs?: number; transferMs?: number } = {}) {
  const conversionRequestId = randomUUID();
  const terms = {
    conversionId: randomUUID(),
    determiningTransferId: randomUUID(),
    initiatingFsp: 'payerfsp',
    counterPartyFsp: 'payeefsp',
    amountType: 'SEND',
    sourceAmount: { currency: 'USD', amount: '300' },
    targetAmount: { currency: 'ZMW', amount: '7950.5' },
    expiration: new Date(now + (o.termsMs ?? 60_000)).toISOString(),
    charges: [{ chargeType: 'fee', sourceAmount: { currency: 'USD', amount: '1' }, targetAmount: { currency: 'ZMW', amount: '26.5' } }],
  };
  const request = { conversionRequestId, conversionTerms: { ...terms, targetAmount: { currency: 'ZMW' } } };
  const response = { conversionTerms: terms };
  const fxTransfer = (condition: unknown): JsonObject => ({
    commitRequestId: terms.conversionId,
    determiningTransferId: terms.determiningTransferId,
    initiatingFsp: 'payerfsp',
    counterPartyFsp: 'payeefsp',
    sourceAmount: terms.sourceAmount,
    targetAmount: terms.targetAmount,
    condition,
    expiration: new Date(now + (o.transferMs ?? 30_000)).toISOString(),
  });
  return { conversionRequestId, terms, request, response, fxTransfer };
}
