// Chooses the Store adapter from the configuration (docs/ilp.md, "Store").
import type { Config } from '../config/schema.js';
import type { Telemetry } from '../telemetry/types.js';
import { createMemoryStore } from './memory.js';
import { createRedisStore } from './redis.js';
import type { Store } from './types.js';

export type { Store } from './types.js';

/** The store of `config.storeKind`: Redis (single node or cluster) or the bounded in-memory store. */
export function createStore(config: Config, telemetry: Telemetry): Store {
  if (config.storeKind === 'redis') {
    return createRedisStore({
      ...(config.redisUrl !== undefined ? { url: config.redisUrl } : {}),
      clusterNodes: config.redisClusterNodes,
      keyPrefix: config.redisKeyPrefix,
      timeoutMs: config.storeTimeoutMs,
      waitReplicas: config.redisWaitReplicas,
      telemetry,
    });
  }
  return createMemoryStore({ maxEntries: config.memoryStoreMaxEntries, maxBytes: config.memoryStoreMaxBytes, telemetry });
}
