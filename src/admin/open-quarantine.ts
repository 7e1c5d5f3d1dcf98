// Opens the quarantine list for a gateway: the durable copy first (a corrupt QUARANTINE_PATH stops start-up:
// never start with a quarantine silently lifted), then the shared list, refreshed in the background.
import type { Config } from '../config/schema.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/types.js';
import { Quarantine } from './quarantine.js';

export async function openQuarantine(
  config: Pick<Config, 'quarantinePath' | 'stateHmacKey'>,
  d: {
    store: Store;
    telemetry: Telemetry;
    logger: { warn(o: object, msg: string): void; error(o: object, msg: string): void };
    onError: (what: string) => (err: unknown) => void;
  },
): Promise<Quarantine> {
  const q = new Quarantine({
    store: d.store,
    telemetry: d.telemetry,
    path: config.quarantinePath,
    hmacKey: config.stateHmacKey,
    onError: d.onError('quarantine list refresh failed; keeping the previous list'),
    onLoss: (e) =>
      d.logger.error(
        { event: 'quarantine_lost', ...e },
        'shared quarantine list lost (store flush, restart or eviction); still enforced, restored into the store',
      ),
  });
  q.loadDurable();
  if (d.store.kind === 'redis' && config.stateHmacKey === undefined)
    d.logger.warn({ event: 'state_not_sealed' }, 'STATE_HMAC_KEY unset: any client that can write to Redis can change the quarantine list and limit overrides');
  if (config.quarantinePath === undefined)
    d.logger.warn({ event: 'quarantine_not_durable' }, 'QUARANTINE_PATH unset: a quarantine survives a store flush only while a replica that knows it runs');
  await q.start().catch(d.onError('quarantine list not readable at start-up'));
  return q;
}
