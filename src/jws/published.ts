// GET /.well-known/jwks.json (docs/jws.md, "Published keys"): this side's JWS verification keys as an RFC 7517 §5
// JWK Set, served on the inbound listener (to peers holding a client certificate) and on the admin listener.
// The set and its lifetime come from the signing keyring (src/jws/signing-key.ts jwks()); this is only the
// HTTP face: media type of RFC 7517 §8.5, and Cache-Control max-age up to the next scheduled key change.
import type { Context, Env } from 'hono';
import type { PublishedKeys } from './signing-key.js';

/** The well-known path (RFC 8615) most JWKS consumers look for; not an FSPIOP resource. */
export const JWKS_PATH = '/.well-known/jwks.json';

export interface PublishedKeySource {
  jwks(): PublishedKeys;
}

/** The route handler: the rendered JWK Set, cacheable for as long as it cannot change on schedule. */
export function servePublishedKeys<E extends Env>(source: PublishedKeySource): (c: Context<E>) => Response {
  return function servePublishedKeys(c) {
    const { body, maxAgeSeconds } = source.jwks();
    return c.body(body, 200, {
      'content-type': 'application/jwk-set+json',
      'cache-control': `public, max-age=${maxAgeSeconds}`,
      'x-content-type-options': 'nosniff',
    });
  };
}
