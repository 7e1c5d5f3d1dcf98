// Store health for /ready and the switchguard_store_up gauge: pinged every two seconds (docs/operations.md).
import type { Telemetry } from '../telemetry/types.js';
import type { Store } from './types.js';

const STORE_PROBE_INTERVAL_MS = 2000;

/** Starts the probe; returns the function that stops it. */
export function probeStore(store: Pick<Store, 'ping'>, telemetry: Pick<Telemetry, 'storeUp'>): () => void {
  const timer = setInterval(() => {
    void store.ping().then((up) => telemetry.storeUp(up));
  }, STORE_PROBE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
