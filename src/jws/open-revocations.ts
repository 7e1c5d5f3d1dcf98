// Opens the peer key revocations for a gateway (src/jws/revocations.ts): the durable copy first (a corrupt
// KEY_REVOCATIONS_PATH stops start-up: never start with a revocation silently lifted), then the shared list,
// refreshed in the background. Mirrors src/admin/open-quarantine.ts.
import type { Config } from '../config/schema.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/types.js';
import { KeyRevocations } from './revocations.js';

export async function openKeyRevocations(
  config: Pick<Config, 'keyRevocationsPath' | 'stateHmacKey'>,
  d: {
    store: Store;
    telemetry: Telemetry;
    logger: { warn(o: object, msg: string): void; error(o: object, msg: string): void };
    onError: (what: string) => (err: unknown) => void;
  },
): Promise<KeyRevocations> {
  const r = new KeyRevocations({
    store: d.store,
    path: config.keyRevocationsPath,
    hmacKey: config.stateHmacKey,
    onError: d.onError('key revocation list refresh failed; keeping the previous list'),
    onCount: (count) => d.telemetry.keyRevocations({ count }),
    onLoss: (e) => {
      d.telemetry.keyRevocationsLost();
      d.logger.error(
        { event: 'key_revocations_lost', ...e },
        'shared key revocation list lost (store flush, restart, eviction or a forged value); still enforced, restored into the store',
      );
    },
  });
  try {
    r.loadDurable();
  } catch (err) {
    throw new Error(`KEY_REVOCATIONS_PATH: ${(err as Error).message}`);
  }
  if (config.keyRevocationsPath === undefined)
    d.logger.warn(
      { event: 'key_revocations_not_durable' },
      'KEY_REVOCATIONS_PATH unset: a key revocation survives a store flush only while a replica that knows it runs',
    );
  await r.start().catch(d.onError('key revocation list not readable at start-up'));
  return r;
}
