// Opens the peer directory (PEERS_PATH, hot-reloaded; PEER_ENDPOINT as the default) and keeps the set of
// FSP ids the gateway knows: the peer directory's and the key directory's (reported through
// `keyTelemetry`). That set bounds metric labels and tells the admin API and the limits which ids are known.
import type { Config } from '../config/schema.js';
import type { Telemetry } from '../telemetry/types.js';
import type { Closers } from '../util/closers.js';
import { PeerDirectory } from './directory.js';

export interface OpenedPeers {
  readonly directory: PeerDirectory;
  /** Telemetry for the key directory: its knownPeers() report joins the peer directory's ids. */
  readonly keyTelemetry: Telemetry;
  /** Whether an FSP id is in the peer directory or has a verification key. */
  isKnown(fspId: string): boolean;
}

export function openPeers(
  config: Pick<Config, 'peersPath' | 'peerEndpoint' | 'tlsReloadIntervalMs'>,
  d: { telemetry: Telemetry; onError: (what: string) => (err: unknown) => void; closers: Closers },
): OpenedPeers {
  const onFailed = d.onError('peer directory reload refused; keeping the previous one');
  const directory = d.closers.add(
    new PeerDirectory(config.peersPath, config.peerEndpoint, (e) => {
      d.telemetry.reload({ what: 'peers', outcome: e.outcome });
      if (e.outcome === 'failed') onFailed(e.error);
    }),
    (p) => p.close(),
  );
  directory.watch(config.tlsReloadIntervalMs, d.onError('watching the peer directory failed; the periodic rescan still covers it'));
  let keyIds: ReadonlySet<string> = new Set();
  const report = () => d.telemetry.knownPeers(new Set([...keyIds, ...directory.ids()]));
  const keyTelemetry: Telemetry = {
    ...d.telemetry,
    knownPeers(ids: Iterable<string>) {
      keyIds = new Set(ids);
      report();
    },
  };
  report();
  return { directory, keyTelemetry, isKnown: (id) => directory.has(id) || keyIds.has(id) };
}
