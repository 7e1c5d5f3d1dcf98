// The ILP secret keyring (docs/ilp.md): ILP_SECRET is comma-separated; the first secret generates, every
// secret validates, so a secret can rotate while quotes issued under the old one are still in flight.
import type { Config } from '../config/schema.js';
import { fulfils, hmacFulfilment, hmacKeyOf } from './crypto.js';

export type IlpVersion = '1' | '4';

export interface IlpKeyring {
  readonly size: number;
  /** Fulfilment for an HMAC message under the generating (first) secret. */
  generate(message: string): Buffer;
  /** The fulfilment under the first secret whose SHA-256 equals `condition`, or undefined. */
  find(message: string, condition: Buffer): Buffer | undefined;
}

import { DEV_ILP_SECRET } from '../config/development.js';

export { DEV_ILP_SECRET };

/**
 * Builds a keyring; throws when no secret is given (generation would be impossible), and when the public
 * development secret is given without `development: true` (the development profile), so that secret can
 * never sign or validate a condition anywhere else, whatever the configuration said.
 */
export function createKeyring(secrets: readonly string[], options: { readonly development?: boolean } = {}): IlpKeyring {
  if (secrets.length === 0) throw new TypeError('ILP keyring needs at least one secret');
  if (!options.development && secrets.includes(DEV_ILP_SECRET)) throw new Error('the public development ILP secret is refused outside the development profile');
  const keys = secrets.map(hmacKeyOf);
  return {
    size: keys.length,
    generate: (message) => hmacFulfilment(keys[0]!, message),
    find(message, condition) {
      for (const key of keys) {
        const f = hmacFulfilment(key, message);
        if (fulfils(f, condition)) return f;
      }
      return undefined;
    },
  };
}

/** The ILP version used with a counterparty: ILP_VERSION_BY_PEER entry, else ILP_VERSION. */
export function ilpVersionFor(config: Pick<Config, 'ilpVersion' | 'ilpVersionByPeer'>, fspId: string | undefined): IlpVersion {
  return (fspId !== undefined ? config.ilpVersionByPeer[fspId] : undefined) ?? config.ilpVersion;
}
