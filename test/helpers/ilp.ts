// Test fixtures for the ILP middleware: a small Hono app that sets the context variables the lead's
// pipeline sets, a telemetry recorder, a store wrapper counting round trips, and message builders.
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { toGatewayError, toResponse } from '../../src/errors.js';
import { matchRoute } from '../../src/fspiop/routes.js';
import type { GatewayEnv } from '../../src/http/context.js';
import { ilpStagesOf } from '../../src/stages.js';
import { Message } from '../../src/fspiop/message.js';
import { createKeyring, type IlpVersion } from '../../src/ilp/keyring.js';
import { buildIlp, type IlpResult } from '../../src/ilp/packet.js';
import { transactionObjectOf, type JsonObject } from '../../src/ilp/transaction.js';
import type { Store } from '../../src/store/types.js';
import { NOOP_TELEMETRY, type Telemetry } from '../../src/telemetry/types.js';

export const SECRET = 'test-ilp-secret-0123456789-abcdefghij';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ SWITCHGUARD_PROFILE: 'development', HUB_ID: 'hub', DFSP_ID: 'payeefsp', ILP_SECRET: SECRET, ...env });
}

export interface Recorder extends Telemetry {
  readonly ilpEvents: { check: string; outcome: string; errorType?: string }[];
}
export function recorder(): Recorder {
  const ilpEvents: Recorder['ilpEvents'] = [];
  return { ...NOOP_TELEMETRY, ilpEvents, ilp: (e) => { ilpEvents.push({ check: e.check, outcome: e.outcome, ...(e.errorType ? { errorType: e.errorType } : {}) }); } };
}

/** Wraps a store and counts every call that reaches the backing store (one call = one round trip). */
export function counting(inner: Store): Store & { calls: number } {
  const w = {
    calls: 0,
    kind: inner.kind,
    save: (...a: Parameters<Store['save']>) => { w.calls++; return inner.save(...a); },
    take: (...a: Parameters<Store['take']>) => { w.calls++; return inner.take(...a); },
    get: (...a: Parameters<Store['get']>) => { w.calls++; return inner.get(...a); },
    delete: (...a: Parameters<Store['delete']>) => { w.calls++; return inner.delete(...a); },
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return w;
}

export interface AppOptions { config: Config; store: Store; telemetry?: Telemetry; now?: () => number; direction?: 'inbound' | 'outbound' }

/** The ILP stage between a context-setting stub (as the lead's pipeline) and an echoing upstream. */
export function ilpApp(o: AppOptions) {
  const app = new Hono<GatewayEnv>();
  app.onError((err) => toResponse(toGatewayError(err)));
  app.use('*', async (c, next) => {
    c.set('message', new Message(Buffer.from(await c.req.arrayBuffer())));
    c.set('route', matchRoute(c.req.method, new URL(c.req.url).pathname));
    c.set('peer', { fspId: c.req.header('fspiop-source') ?? 'payerfsp', subjectCn: undefined, fingerprint256: '', validTo: new Date(0) });
    await next();
  });
  // The stages the configuration gives the role (src/stages.ts): none when ILP_CHECK=false, none outbound for the hub.
  const stages = ilpStagesOf(o.config, { store: o.store, telemetry: o.telemetry ?? NOOP_TELEMETRY, ...(o.now ? { now: o.now } : {}) });
  const stage = o.direction === 'outbound' ? stages.outbound : stages.inbound;
  if (stage) app.use('*', stage);
  app.all('*', (c) => c.json({ upstream: true, rewritten: c.get('message').rewritten ? c.get('message').json() : null }));
  // A PUT is the payee's answer: it carries the payee's FSPIOP-Source unless the test sets another
  // (docs/security.md class 6: the hub accepts a fulfilment only from the payee recorded at prepare time).
  const call = async (method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
    const defaults: Record<string, string> = method === 'PUT' ? { 'fspiop-source': 'payeefsp' } : {};
    const res = await app.request(path, { method, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...defaults, ...headers } });
    const json = (await res.json()) as { upstream?: boolean; rewritten?: JsonObject | null; errorInformation?: { errorCode: string; errorDescription: string } };
    return { status: res.status, json, code: json.errorInformation?.errorCode };
  };
  return { app, call };
}

export function quoteRequest(over: JsonObject = {}): JsonObject {
  return {
    quoteId: randomUUID(), transactionId: randomUUID(),
    payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' } },
    payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: 'payerfsp' }, name: 'Jane Doe' },
    amountType: 'RECEIVE', amount: { amount: '100', currency: 'USD' },
    transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
    ...over,
  };
}

export function quoteResponse(now: number, over: JsonObject = {}): JsonObject {
  return {
    transferAmount: { amount: '100.50', currency: 'USD' }, payeeReceiveAmount: { amount: '100', currency: 'USD' },
    payeeFspFee: { amount: '0.50', currency: 'USD' }, expiration: new Date(now + 60_000).toISOString(), ...over,
  };
}

/** A quote issued under `secret` and the POST /transfers body that follows it. */
export function issuedTransfer(version: IlpVersion, now: number, secret = SECRET, over: { quote?: JsonObject; response?: JsonObject } = {}) {
  const qr = quoteRequest(over.quote);
  const resp = quoteResponse(now, over.response);
  const ilp: IlpResult = buildIlp(version, transactionObjectOf(qr, resp), createKeyring([secret]));
  const prepare: JsonObject = {
    transferId: qr.transactionId, payerFsp: 'payerfsp', payeeFsp: 'payeefsp', amount: resp.transferAmount,
    ilpPacket: ilp.ilpPacket, condition: ilp.condition, expiration: new Date(now + 30_000).toISOString(),
  };
  return { quoteRequest: qr, quoteResponse: resp, ilp, prepare, transferId: qr.transactionId as string };
}

export const fulfilBody = (fulfilment: string) => ({ fulfilment, completedTimestamp: new Date().toISOString(), transferState: 'COMMITTED' });
