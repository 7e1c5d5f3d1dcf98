// PEER_IDENTITY_MAP, hot-reloaded: the map in force is swapped only when the new file parses; a broken
// file keeps the previous map and is counted and logged (docs/architecture.md).
import type { Telemetry } from '../telemetry/types.js';
import { watchFiles } from '../util/file-watch.js';
import { type IdentityMap, loadIdentityMap } from './peer.js';

export interface IdentitySource {
  /** The map in force, or undefined when PEER_IDENTITY_MAP is unset. */
  current(): IdentityMap | undefined;
  close(): void;
}

/** Reads the map now (throws when it does not parse: start-up stops) and watches it. */
export function openIdentityMap(
  path: string | undefined,
  deps: { telemetry: Telemetry; onReloadFailed: (err: unknown) => void; intervalMs: number },
): IdentitySource {
  if (path === undefined) return { current: () => undefined, close: () => {} };
  let map = loadIdentityMap(path);
  const w = watchFiles(
    [path],
    () => {
      try {
        map = loadIdentityMap(path);
        deps.telemetry.reload({ what: 'identity_map', outcome: 'ok' });
      } catch (err) {
        deps.telemetry.reload({ what: 'identity_map', outcome: 'failed' });
        deps.onReloadFailed(err);
      }
    },
    { intervalMs: deps.intervalMs },
  );
  return { current: () => map, close: () => w.close() };
}
