// Remote key sources for tests, on real HTTPS with client certificates required (the gateway's outbound mTLS
// client must present its certificate): a peer's JWKS endpoint, and a contract stub of the Mojaloop
// Connection Manager written from its published API description (connection-manager-api src/api/swagger.yaml:
// GET /dfsps/jwscerts -> [DFSPJWSCert], GET /hub/jwscerts -> JWSCert, OAuth2 bearer tokens; the token
// endpoint is an OIDC provider's client-credentials grant, RFC 6749 §4.4). No MCM server runs here.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestPki } from './pki.js';

export type Answer = { status?: number; body?: string | Buffer; headers?: Record<string, string>; delayMs?: number } | 'hang' | 'drop';

export interface KeyServer {
  readonly url: string;
  /** Requests seen, by path. */
  readonly hits: Map<string, number>;
  /** Authorization headers seen, in order. */
  readonly auth: (string | undefined)[];
  /** Client certificate CNs that connected. */
  readonly clients: string[];
  close(): Promise<void>;
}

async function serve(
  pki: TestPki,
  handle: (req: IncomingMessage, body: string) => Answer,
  record: KeyServer['auth'],
  clients: string[],
): Promise<{ server: Server; url: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const server = createServer(
    { cert: readFileSync(pki.serverCertPath), key: readFileSync(pki.serverKeyPath), ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: true },
    (req: IncomingMessage, res: ServerResponse) => {
      const cn = (req.socket as unknown as { getPeerCertificate(): { subject?: { CN?: string } } }).getPeerCertificate()?.subject?.CN;
      clients.push(cn ?? '');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0]!;
        hits.set(path, (hits.get(path) ?? 0) + 1);
        record.push(req.headers.authorization);
        const a = handle(req, Buffer.concat(chunks).toString('utf8'));
        if (a === 'hang') return;
        if (a === 'drop') {
          req.socket.destroy();
          return;
        }
        const send = () => {
          res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
          res.end(a.body ?? '');
        };
        if (a.delayMs) setTimeout(send, a.delayMs);
        else send();
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `https://localhost:${(server.address() as AddressInfo).port}`, hits };
}

const closeServer = (s: Server) =>
  new Promise<void>((r) => {
    s.closeAllConnections();
    s.close(() => r());
  });

/** A JWKS endpoint at /jwks.json whose answer the test sets. */
export async function startJwksServer(pki: TestPki): Promise<KeyServer & { answer(a: Answer): void; jwksUrl: string }> {
  let answer: Answer = { status: 404 };
  const auth: KeyServer['auth'] = [];
  const clients: string[] = [];
  const { server, url, hits } = await serve(pki, () => answer, auth, clients);
  return {
    url,
    jwksUrl: `${url}/jwks.json`,
    hits,
    auth,
    clients,
    answer(a) {
      answer = a;
    },
    close: () => closeServer(server),
  };
}

export interface McmStub extends KeyServer {
  /** The DFSPs' JWS certificates (GET /api/dfsps/jwscerts answers them as DFSPJWSCert). */
  dfsps: { dfspId: string; publicKey: string; validationState?: string }[];
  /** The hub's (GET /api/hub/jwscerts); undefined: 404 "Hub JWS certs not set". */
  hub: string | undefined;
  /** Replaces the answer of GET /api/dfsps/jwscerts (faults). */
  override: Answer | undefined;
  /** Tokens issued so far; only the latest is accepted. */
  readonly tokens: string[];
  /** Makes the next API call see the current token as expired (401). */
  expireToken(): void;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiUrl: string;
  readonly tokenUrl: string;
}

/** The Connection Manager contract stub, with its token endpoint at /token (client id and secret checked). */
export async function startMcmStub(pki: TestPki): Promise<McmStub> {
  const clientId = 'switchguard';
  const clientSecret = 'stub-secret-0123456789';
  const auth: KeyServer['auth'] = [];
  const clients: string[] = [];
  let expired = false;
  const state = {
    dfsps: [] as McmStub['dfsps'],
    hub: undefined as string | undefined,
    override: undefined as Answer | undefined,
    tokens: [] as string[],
  };
  const json = (status: number, body: unknown): Answer => ({ status, body: JSON.stringify(body) });
  const { server, url, hits } = await serve(
    pki,
    (req, body) => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/token') {
        const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
        if (req.method !== 'POST' || body !== 'grant_type=client_credentials' || basic !== `${clientId}:${clientSecret}`)
          return json(401, { error: 'invalid_client' });
        const token = `tok-${state.tokens.length + 1}`;
        state.tokens.push(token);
        expired = false;
        return json(200, { access_token: token, token_type: 'Bearer', expires_in: 300 });
      }
      if (req.headers.authorization !== `Bearer ${state.tokens.at(-1)}` || expired) return json(401, { message: 'Unauthorized' });
      if (path === '/api/dfsps/jwscerts')
        return (
          state.override ??
          json(
            200,
            state.dfsps.map((d) => ({ createdAt: 1700000000, validations: [], validationState: 'VALID', ...d })),
          )
        );
      if (path === '/api/hub/jwscerts')
        return state.hub === undefined ? { status: 404 } : json(200, { publicKey: state.hub, createdAt: 1700000000, validationState: 'VALID' });
      return { status: 404 };
    },
    auth,
    clients,
  );
  return Object.assign(state, {
    url,
    apiUrl: `${url}/api`,
    tokenUrl: `${url}/token`,
    hits,
    auth,
    clients,
    clientId,
    clientSecret,
    expireToken() {
      expired = true;
    },
    close: () => closeServer(server),
  });
}

const b64u = (n: bigint): string => {
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  return Buffer.from(h, 'hex').toString('base64url');
};

/** An odd number of exactly `bits` bits: as an RSA modulus, as costly to verify with as a real key of that size. */
export function oddRandom(bits: number): bigint {
  const b = randomBytes(bits / 8);
  b[0]! |= 0x80;
  b[b.length - 1]! |= 1;
  return BigInt(`0x${b.toString('hex')}`);
}

/** An RSA public JWK with a random modulus of `bits` bits and exponent `e` (a key set's cost, not a usable key). */
export const randomRsaJwk = (kid: string, bits: number, e: bigint = 65537n, extra: Record<string, string> = {}) => ({
  kty: 'RSA',
  kid,
  use: 'sig',
  ...extra,
  n: b64u(oddRandom(bits)),
  e: b64u(e),
});
