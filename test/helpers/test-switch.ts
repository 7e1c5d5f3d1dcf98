// A minimal FSPIOP switch behind a hub-role gateway (its INBOUND_UPSTREAM_URL). Like Mojaloop's ml-api-adapter,
// quoting-service and account-lookup-service it answers every request 202 with an empty body and then delivers it
// to its FSPIOP-Destination, here through the hub gateway's outbound listener (which picks the peer by
// FSPIOP-Destination); a GET /parties without a destination goes to the FSP its party table names. It relays the
// FSPIOP headers and the exact body bytes it received (so a DFSP's signature travels with the body) unless a
// test's tamper hook changes them. A request whose delivery is refused with an FSPIOP error is reported back to its
// sender as `PUT …/error` from the hub (FSPIOP-Source = the hub id), carrying the error it got, as the quoting and
// lookup services report a failed forward. It stands in for the switch, not for the gateway: nothing here checks,
// signs or rewrites messages.
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Headers a switch relays unchanged (FSPIOP API v1.1 §3.2; hop-by-hop and proxy headers stay behind). */
const RELAYED = [
  'accept',
  'content-type',
  'date',
  'fspiop-source',
  'fspiop-destination',
  'fspiop-signature',
  'fspiop-uri',
  'fspiop-http-method',
  'fspiop-encryption',
];

/** The body member that names a POSTed resource, for its error callback path (FSPIOP API v1.1 §6). */
const ID_MEMBER: Record<string, string> = {
  quotes: 'quoteId',
  transfers: 'transferId',
  bulkQuotes: 'bulkQuoteId',
  bulkTransfers: 'bulkTransferId',
  transactionRequests: 'transactionRequestId',
  fxQuotes: 'conversionRequestId',
  fxTransfers: 'commitRequestId',
};

export interface SwitchMessage {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** True for an error callback the switch itself sent (FSPIOP-Source = the hub id). */
  readonly generated: boolean;
  /** Where the switch delivered it, and what came back from the gateway's outbound listener. */
  relay?: { readonly destination: string; readonly status: number; readonly body: string; readonly tampered: boolean };
  /** Set when the switch could not deliver it (no destination, connection error). */
  relayError?: string;
}

/** Returns replacement body bytes to send instead of the received ones, or undefined to relay unchanged. */
export type Tamper = (m: SwitchMessage) => Buffer | undefined;

export interface TestSwitch {
  /** http://127.0.0.1:port, for the hub gateway's INBOUND_UPSTREAM_URL. */
  readonly url: string;
  /** What it received, and the error callbacks it sent, in order. */
  readonly messages: SwitchMessage[];
  /** Party table of the lookup service: "MSISDN/123" → FSP id. */
  readonly parties: Map<string, string>;
  /** Where to deliver: the hub gateway's outbound listener (http://127.0.0.1:port). */
  deliverTo(url: string): void;
  /** The one tamper hook (undefined removes it). */
  tamper(t: Tamper | undefined): void;
  /** Every UUID-shaped id the switch saw in paths and bodies (for clean-up of state keyed by them). */
  ids(): Set<string>;
  /** Resolves once every delivery started so far (error callbacks included) has been answered. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Starts the switch on a free loopback port; `hubId` is the FSPIOP-Source of its own error callbacks. */
export async function startTestSwitch(o: { hubId?: string } = {}): Promise<TestSwitch> {
  const hubId = o.hubId ?? 'hub';
  const messages: SwitchMessage[] = [];
  const parties = new Map<string, string>();
  const inFlight = new Set<Promise<void>>();
  let outbound: URL | undefined;
  let tamper: Tamper | undefined;

  const destinationOf = (m: SwitchMessage): string | undefined => {
    const dest = m.headers['fspiop-destination'];
    if (typeof dest === 'string' && dest !== '') return dest;
    const party = /^\/parties\/([^/?]+\/[^/?]+)/.exec(m.path);
    return m.method === 'GET' && party ? parties.get(decodeURIComponent(party[1]!)) : undefined;
  };

  /** PUT …/error to the sender of a request whose delivery was refused, or undefined when there is none to send. */
  const errorCallback = (m: SwitchMessage, answer: string): SwitchMessage | undefined => {
    const source = m.headers['fspiop-source'];
    if (typeof source !== 'string' || (m.method !== 'POST' && m.method !== 'GET')) return undefined;
    let error: unknown;
    try {
      error = JSON.parse(answer);
    } catch {
      return undefined;
    }
    if (!error || typeof error !== 'object' || !('errorInformation' in error)) return undefined;
    const resource = /^\/([A-Za-z]+)/.exec(m.path)?.[1] ?? '';
    let path: string | undefined;
    if (m.method === 'GET') path = `${m.path.split('?')[0]}/error`;
    else if (ID_MEMBER[resource]) {
      const id = (JSON.parse(m.body.toString('utf8')) as Record<string, unknown>)[ID_MEMBER[resource]];
      if (typeof id === 'string') path = `/${resource}/${id}/error`;
    }
    if (path === undefined) return undefined;
    const body = Buffer.from(JSON.stringify({ errorInformation: (error as { errorInformation: unknown }).errorInformation }));
    const contentType =
      typeof m.headers['content-type'] === 'string' ? m.headers['content-type'] : `application/vnd.interoperability.${resource}+json;version=1.0`;
    return {
      method: 'PUT',
      path,
      headers: { 'content-type': contentType, date: new Date().toUTCString(), 'fspiop-source': hubId, 'fspiop-destination': source },
      body,
      generated: true,
    };
  };

  const deliver = (m: SwitchMessage): Promise<void> =>
    new Promise<void>((resolve) => {
      const destination = destinationOf(m);
      if (!outbound || destination === undefined) {
        m.relayError = destination === undefined ? 'no destination' : 'no outbound listener';
        return resolve();
      }
      const replaced = m.generated ? undefined : tamper?.(m);
      const body = replaced ?? m.body;
      const headers: Record<string, string> = { 'fspiop-destination': destination };
      for (const h of RELAYED) {
        const v = m.headers[h];
        if (typeof v === 'string' && h !== 'fspiop-destination') headers[h] = v;
      }
      if (body.length > 0) headers['content-length'] = String(body.length);
      const req = request(new URL(m.path, outbound), { method: m.method, headers, agent: false });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const answer = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          m.relay = { destination, status, body: answer, tampered: replaced !== undefined };
          const callback = status >= 400 ? errorCallback(m, answer) : undefined;
          if (callback) send(callback);
          resolve();
        });
      });
      req.on('error', (err) => {
        m.relayError = err.message;
        resolve();
      });
      req.end(body.length > 0 ? body : undefined);
    });

  const send = (m: SwitchMessage) => {
    messages.push(m);
    const p = deliver(m).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      // 202 with an empty body, as Mojaloop's adapters answer (the SDKs refuse anything else).
      res.writeHead(202, { 'content-length': '0' });
      res.end();
      send({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks), generated: false });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    messages,
    parties,
    deliverTo(url) {
      outbound = new URL(url);
    },
    tamper(t) {
      tamper = t;
    },
    ids() {
      const ids = new Set<string>();
      for (const m of messages) for (const s of [m.path, m.body.toString('utf8')]) for (const id of s.match(UUID) ?? []) ids.add(id);
      return ids;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
