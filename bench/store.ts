// Store benchmark: save and take latency against the in-memory store and the machine's Redis
// (REDIS_URL, own key prefix, cleaned up). Run alone: node --import tsx bench/store.ts
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createMemoryStore } from '../src/store/memory.js';
import { createRedisStore } from '../src/store/redis.js';
import type { Store } from '../src/store/types.js';
import { NOOP_TELEMETRY } from '../src/telemetry/types.js';

const VALUE = JSON.stringify({ c: 'UeVN-WZQYQd_esA01Z4zmgpeOOimy7bpm9mytBszquI', e: 1893492000000 });

interface Latency {
  p50: number;
  p99: number;
  max: number;
}
const pct = (xs: number[]): Latency => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Number((s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 1000).toFixed(1));
  return { p50: at(0.5), p99: at(0.99), max: Number((s[s.length - 1]! * 1000).toFixed(1)) };
};

async function measure(store: Store, n: number): Promise<{ save: Latency; take: Latency }> {
  const save: number[] = [];
  const take: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = `bench:{${i}}`;
    let t = performance.now();
    await store.save(key, VALUE, 60_000, 'nx');
    save.push(performance.now() - t);
    t = performance.now();
    await store.take(key);
    take.push(performance.now() - t);
  }
  return { save: pct(save), take: pct(take) };
}

/** Runs the store benchmark (a few seconds) and prints µs percentiles per operation. */
export async function run(): Promise<Record<string, { save: Latency; take: Latency }>> {
  const results: Record<string, { save: Latency; take: Latency }> = {};
  results.memory = await measure(createMemoryStore({ maxEntries: 100_000 }), 20_000);
  const redis = createRedisStore({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    keyPrefix: `sgbench:${randomBytes(4).toString('hex')}:`,
    timeoutMs: 1000,
    telemetry: NOOP_TELEMETRY,
  });
  try {
    const reachable = (await redis.ping()) || (await new Promise((r) => setTimeout(r, 500)).then(() => redis.ping()));
    if (reachable) results.redis = await measure(redis, 3000);
    else console.log('  redis: not reachable, skipped');
  } finally {
    await redis.close();
  }
  console.log('Store latency (µs: p50 / p99 / max, sequential, one client)');
  for (const [k, r] of Object.entries(results)) {
    console.log(`  ${k.padEnd(7)} save ${r.save.p50} / ${r.save.p99} / ${r.save.max}   take ${r.take.p50} / ${r.take.p99} / ${r.take.max}`);
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
