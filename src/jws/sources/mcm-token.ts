// The access token for a Mojaloop Connection Manager: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4)
// at MCM_TOKEN_URL (an OIDC provider's token endpoint, e.g. Keycloak's .../protocol/openid-connect/token),
// the client authenticated with HTTP Basic (RFC 6749 §2.3.1, id and secret form-urlencoded first). The token
// is kept until 30 s before its `expires_in` (60 s when the provider gives none) and fetched once for any
// number of concurrent callers. A failure rejects with Refusal('token').
import type { KeyFetch } from './fetch.js';
import { Refusal } from './remote-key.js';

export interface ClientCredentials {
  readonly tokenUrl: URL;
  readonly clientId: string;
  /** Read at each token request (MCM_CLIENT_SECRET, or the file of MCM_CLIENT_SECRET_PATH). */
  readonly clientSecret: () => string;
}

const form = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');

export class McmToken {
  #token: { value: string; expiresAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(
    private readonly c: ClientCredentials,
    private readonly fetch: KeyFetch,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid access token (cached, single flight). */
  get(): Promise<string> {
    if (this.#token && this.#token.expiresAt > this.now()) return Promise.resolve(this.#token.value);
    this.#pending ??= this.#request().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Forgets the token (the Connection Manager answered 401). */
  invalidate(): void {
    this.#token = undefined;
  }

  async #request(): Promise<string> {
    let res: Awaited<ReturnType<KeyFetch>>;
    try {
      res = await this.fetch({
        url: this.c.tokenUrl,
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${form(this.c.clientId)}:${form(this.c.clientSecret())}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: 'grant_type=client_credentials',
        timeoutMs: this.timeoutMs,
        maxBytes: 64 * 1024,
      });
    } catch (e) {
      throw new Refusal('token', `token endpoint: ${(e as Refusal).reason ?? 'unreachable'}`);
    }
    if (res.status !== 200) throw new Refusal('token', `token endpoint answered HTTP ${res.status}`);
    let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new Refusal('token', 'token endpoint answer is not JSON');
    }
    if (typeof body?.access_token !== 'string' || body.access_token.length === 0 || /\s/.test(body.access_token))
      throw new Refusal('token', 'token endpoint answer has no access_token');
    if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') throw new Refusal('token', 'token_type is not Bearer');
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    this.#token = { value: body.access_token, expiresAt: this.now() + Math.max(lifetime - 30, lifetime / 2) * 1000 };
    return body.access_token;
  }
}
