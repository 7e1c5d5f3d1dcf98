// Journeys between real sdk-scheme-adapters (test/helpers/sdk-adapter.ts) through real gateways, all on loopback
// with a per-run PKI (test/helpers/pki.ts) and per-run JWS keys. One hub-role gateway in front of a test switch
// (test/helpers/test-switch.ts), three DFSPs:
//
//   payerfsp, payeefsp  an SDK connected straight to the hub gateway: PEER_ENDPOINT = its inbound listener (mTLS,
//                       the SDK's client certificate); the hub gateway's outbound listener delivers to the SDK's
//                       inbound server (mTLS, the hub's client certificate);
//   edgefsp             an SDK behind a DFSP-role gateway (the reverse direction): the SDK's PEER_ENDPOINT is the
//                       edge gateway's outbound listener (plain HTTP on loopback), the edge gateway's upstream is
//                       the SDK's inbound server (plain HTTP), and the edge gateway talks to the hub gateway over
//                       mTLS with edgefsp's certificate;
//   rogue (on demand)   an SDK claiming to be payerfsp with a client certificate from a CA nobody trusts.
//
//   client → SDK outbound API → [edge gateway outbound →] hub gateway inbound → switch (202, relay) →
//   hub gateway outbound → [edge gateway inbound →] SDK inbound → backend; callbacks back the same way.
//
// Certificates carry the FSP id as CN. JWS keys are RSA (SDK 18 signs and verifies RS256 only); every gateway and
// SDK has the public keys of the others, and the hub's. Redis: each gateway a per-run key prefix, the SDKs (which
// have none) a logical database of their own; close() deletes exactly those keys.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { type RunningGateway, startGateway } from '../../src/gateway.js';
import type { AuditEvent, AuditLog } from '../../src/logging/audit.js';
import type { Issued } from '../../src/pki/forge-pki.js';
import { testEnv } from './gateway.js';
import { makeTestPki, type TestPki } from './pki.js';
import { deleteKeysUnder, REDIS_URL } from './redis-procs.js';
import { deleteSdkKeys, type SdkAdapter, type SdkBackend, sdkCacheUrl, startSdkAdapter, startSdkBackend } from './sdk-adapter.js';
import { startTestSwitch, type TestSwitch } from './test-switch.js';
import { waitFor } from './wait.js';

/** The logical Redis database of the SDKs in these tests (the gateways and the other tests use prefixes in DB 0). */
const SDK_CACHE_DB = 13;

export type Dfsp = 'payerfsp' | 'payeefsp' | 'edgefsp';
const DFSPS: readonly Dfsp[] = ['payerfsp', 'payeefsp', 'edgefsp'];

export interface JsonReply {
  readonly status: number;
  readonly body: any;
  readonly ms: number;
}

/** One JSON request to a plain-HTTP loopback URL (an SDK's outbound API). */
function postJson(url: string, path: string, body: unknown, timeoutMs = 30_000): Promise<JsonReply> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = request(new URL(path, url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': String(data.length) },
      timeout: timeoutMs,
      agent: false,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed, ms: Date.now() - started });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * A TCP pipe on a free loopback port to a port named later: the edge gateway needs its upstream URL when it
 * starts, the SDK behind it needs the gateway's outbound port when it starts. Bytes pass unchanged.
 */
async function startPipe(): Promise<{ port: number; target(port: number): void; close(): Promise<void> }> {
  let target: number | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    sockets.add(down);
    down.on('close', () => sockets.delete(down));
    if (target === undefined) return void down.destroy();
    const up = connect(target, '127.0.0.1');
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    down.pipe(up).pipe(down);
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    target(p) {
      target = p;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface Material {
  readonly pki: TestPki;
  /** TLS client certificates by FSP id (files <id>.tls.pem / <id>.tls.key in pki.dir). */
  readonly certs: Record<string, Issued>;
  /** A directory of <id>.pem public JWS keys (private keys: <id>.jws.key in pki.dir). */
  keyDir(name: string, ids: readonly string[]): string;
  path(name: string): string;
}

function material(ids: readonly string[]): Material {
  const pki = makeTestPki();
  const pub: Record<string, string> = {};
  const certs: Record<string, Issued> = {};
  for (const id of ids) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    pub[id] = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    pki.write(`${id}.jws.key`, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    certs[id] = pki.client(id);
    pki.write(`${id}.tls.pem`, certs[id].certPem);
    pki.write(`${id}.tls.key`, certs[id].keyPem);
  }
  return {
    pki,
    certs,
    keyDir(name, of) {
      const d = join(pki.dir, name);
      mkdirSync(d, { recursive: true });
      for (const id of of) writeFileSync(join(d, `${id}.pem`), pub[id]!);
      return d;
    },
    path: (name) => join(pki.dir, name),
  };
}

export interface InteropTopology {
  readonly material: Material;
  readonly hub: RunningGateway;
  /** The DFSP-role gateway in front of edgefsp's SDK. */
  readonly edge: RunningGateway;
  readonly sw: TestSwitch;
  readonly sdks: Readonly<Record<Dfsp, SdkAdapter>>;
  readonly backends: Readonly<Record<Dfsp, SdkBackend>>;
  /** Starts (once) the rogue SDK; start it early and await it late, its start-up overlaps the journeys before. */
  rogue(): Promise<SdkAdapter>;
  /** What each gateway wrote to its audit log (signature_failed, peer_rejected with the GatewayError code, …). */
  readonly audit: { readonly hub: AuditEvent[]; readonly edge: AuditEvent[] };
  /** Redis key prefixes of the hub and the edge gateway. */
  readonly prefixes: { readonly hub: string; readonly edge: string };
  /** POST /transfers on an SDK's outbound API (the "simple" transfer: lookup, quote, transfer). */
  transfer(from: Dfsp | 'rogue', body: unknown, timeoutMs?: number): Promise<JsonReply>;
  /** Remembers ids whose SDK state close() must delete (the switch remembers the ids it saw itself). */
  remember(...ids: string[]): void;
  /** The recent output of every SDK, for assertion messages. */
  logs(): string;
  close(): Promise<void>;
}

export interface InteropOptions {
  /** Extra variables for the hub gateway, the edge gateway, an SDK. */
  readonly hubEnv?: Record<string, string>;
  readonly edgeEnv?: Record<string, string>;
  readonly sdkEnv?: Partial<Record<Dfsp, Record<string, string>>>;
}

/** Starts the topology of the file comment. The switch's party table is left to the test. */
export async function startInteropTopology(o: InteropOptions = {}): Promise<InteropTopology> {
  const m = material([...DFSPS, 'hub']);
  const { pki } = m;
  const run = randomBytes(4).toString('hex');
  const prefixes = { hub: `sgtest:interop:${run}:hub:`, edge: `sgtest:interop:${run}:edge:` };
  const cacheUrl = sdkCacheUrl(SDK_CACHE_DB);
  const peersPath = pki.write('hub-peers.json', '{}');
  const ilpSecret = Object.fromEntries(DFSPS.map((id) => [id, `${id}-ilp-secret-${randomBytes(12).toString('hex')}`])) as Record<Dfsp, string>;
  const others = (id: string) => [...DFSPS.filter((d) => d !== id), 'hub'];
  const extraIds = new Set<string>();
  const opened: { hub?: RunningGateway; edge?: RunningGateway; sdks: SdkAdapter[]; rogue?: Promise<SdkAdapter> } = { sdks: [] };
  const audit = { hub: [] as AuditEvent[], edge: [] as AuditEvent[] };
  const recorder = (into: AuditEvent[]): AuditLog => ({ record: (e) => void into.push(e), flush: async () => {}, close: async () => {} });
  const sw = await startTestSwitch();
  const pipe = await startPipe();
  const backends = { payerfsp: await startSdkBackend(), payeefsp: await startSdkBackend(), edgefsp: await startSdkBackend() };

  const close = async () => {
    await opened.rogue?.catch(() => undefined); // a start still under way ends first (then it is in opened.sdks)
    await Promise.allSettled(opened.sdks.map((s) => s.close()));
    await Promise.allSettled([opened.edge?.close(500), opened.hub?.close(500)]);
    await Promise.all([sw.close(), pipe.close(), ...Object.values(backends).map((b) => b.close())]);
    await deleteSdkKeys(cacheUrl, [...sw.ids(), ...extraIds]);
    await deleteKeysUnder(...Object.values(prefixes));
    pki.cleanup();
  };

  const gatewayCommon = (id: string) => ({
    VALIDATE_INBOUND_JWS: 'true',
    VALIDATE_INBOUND_PUT_PARTIES_JWS: 'true', // SDK 18.0.2 signs its PUT /parties callbacks (the test asserts it)
    JWS_VERIFICATION_KEYS_DIRECTORY: m.keyDir(`${id}-gateway-keys`, id === 'hub' ? DFSPS : others(id)),
    JWS_SIGN: 'true',
    JWS_SIGNING_KEY_PATH: m.path(`${id}.jws.key`),
    ILP_CHECK: 'true',
    REDIS_URL,
    OUT_CLIENT_CERT_PATH: m.path(`${id}.tls.pem`),
    OUT_CLIENT_KEY_PATH: m.path(`${id}.tls.key`),
    OUT_CA_CERT_PATH: pki.caPath,
  });

  try {
    const hub = await startGateway(
      loadConfig(
        testEnv(pki, sw.url, {
          ...gatewayCommon('hub'),
          GATEWAY_ROLE: 'hub',
          HUB_ID: 'hub',
          REDIS_KEY_PREFIX: prefixes.hub,
          PEERS_PATH: peersPath,
          ...o.hubEnv,
        }),
      ),
      { audit: recorder(audit.hub) },
    );
    opened.hub = hub;
    sw.deliverTo(`http://127.0.0.1:${hub.outbound.port}`);
    const edge = await startGateway(
      loadConfig(
        testEnv(pki, `http://127.0.0.1:${pipe.port}`, {
          ...gatewayCommon('edgefsp'),
          GATEWAY_ROLE: 'dfsp',
          DFSP_ID: 'edgefsp',
          HUB_ID: 'hub',
          // The SDK generates the ILP packet, condition and fulfilment itself; with its secret the gateway can
          // check that a transfer carries a condition this DFSP issued (docs/ilp.md, DFSP role).
          ILP_SECRET: ilpSecret.edgefsp,
          REDIS_KEY_PREFIX: prefixes.edge,
          PEER_ENDPOINT: `https://127.0.0.1:${hub.inbound.port}`,
          ...o.edgeEnv,
        }),
      ),
      { audit: recorder(audit.edge) },
    );
    opened.edge = edge;

    const common = (id: Dfsp) => ({
      backendEndpoint: backends[id].endpoint,
      cacheUrl,
      jwsSigningKeyPath: m.path(`${id}.jws.key`),
      jwsKeysDir: m.keyDir(`${id}-sdk-keys`, others(id)),
      env: { ILP_SECRET: ilpSecret[id], REQUEST_PROCESSING_TIMEOUT_SECONDS: '4', ...o.sdkEnv?.[id] },
    });
    const direct = (id: Dfsp, cert: { certPath: string; keyPath: string }) =>
      startSdkAdapter({
        dfspId: id,
        ...common(id),
        peerEndpoint: `127.0.0.1:${hub.inbound.port}`,
        inboundTls: { caPath: pki.caPath, certPath: pki.serverCertPath, keyPath: pki.serverKeyPath },
        outboundTls: { caPath: pki.caPath, ...cert },
      });
    const track = async (start: () => Promise<SdkAdapter>) => {
      const s = await start();
      opened.sdks.push(s);
      return s;
    };
    // allSettled: a failed start must not leave the other children starting while close() removes their files.
    const results = await Promise.allSettled([
      track(() => direct('payerfsp', { certPath: m.path('payerfsp.tls.pem'), keyPath: m.path('payerfsp.tls.key') })),
      track(() => direct('payeefsp', { certPath: m.path('payeefsp.tls.pem'), keyPath: m.path('payeefsp.tls.key') })),
      track(() => startSdkAdapter({ dfspId: 'edgefsp', ...common('edgefsp'), peerEndpoint: `127.0.0.1:${edge.outbound.port}` })),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [payer, payee, edgeSdk] = results.map((r) => (r as PromiseFulfilledResult<SdkAdapter>).value) as [SdkAdapter, SdkAdapter, SdkAdapter];
    const rogue = () => {
      opened.rogue ??= track(() => {
        const cert = pki.foreignClient('payerfsp');
        return direct('payerfsp', { certPath: pki.write('rogue.tls.pem', cert.certPem), keyPath: pki.write('rogue.tls.key', cert.keyPem) });
      });
      return opened.rogue;
    };
    pipe.target(edgeSdk.ports.inbound);
    writeFileSync(
      peersPath,
      JSON.stringify({
        payerfsp: `https://127.0.0.1:${payer.ports.inbound}`,
        payeefsp: `https://127.0.0.1:${payee.ports.inbound}`,
        edgefsp: `https://127.0.0.1:${edge.inbound.port}`,
      }),
    );
    await waitFor(() => DFSPS.every((id) => hub.peers.has(id)), { what: 'the peer directory reload' });
    const sdks = { payerfsp: payer, payeefsp: payee, edgefsp: edgeSdk };
    return {
      material: m,
      hub,
      edge,
      sw,
      sdks,
      backends,
      rogue,
      audit,
      prefixes,
      transfer: async (from, body, timeoutMs) => postJson((from === 'rogue' ? await rogue() : sdks[from]).outboundUrl, '/transfers', body, timeoutMs),
      remember: (...ids) => {
        for (const id of ids) extraIds.add(id);
      },
      logs: () => opened.sdks.map((s) => `--- ${s.dfspId} SDK (${s.ports.inbound}) ---\n${s.output().slice(-5000)}`).join('\n'),
      close,
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
