// A second gateway process for the cross-process race: its own Redis store and ILP stage. Reads a JSON
// line {items:[{id, fulfilment}]}, prints "ready", waits for "go", fires every PUT at once and prints
// the FSPIOP outcome of each as one JSON line.
import { createInterface } from 'node:readline';
import { createRedisStore } from '../../../src/store/redis.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { fulfilBody, ilpApp, testConfig } from '../../helpers/ilp.js';
import { waitFor } from '../../helpers/wait.js';

const store = createRedisStore({ url: process.env.REDIS_URL!, keyPrefix: process.env.SG_PREFIX!, timeoutMs: 2000, telemetry: NOOP_TELEMETRY });
const { call } = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub' }), store });
const lines = createInterface({ input: process.stdin });
let items: { id: string; fulfilment: string }[] = [];
for await (const line of lines) {
  if (line.startsWith('{')) {
    items = (JSON.parse(line) as { items: typeof items }).items;
    await waitFor(() => store.ping(), { timeoutMs: 10_000, what: 'Redis' });
    process.stdout.write('ready\n');
  } else if (line === 'go') {
    const results = await Promise.all(items.map((i) => call('PUT', `/transfers/${i.id}`, fulfilBody(i.fulfilment))));
    process.stdout.write(`${JSON.stringify(results.map((r) => r.code ?? String(r.status)))}\n`);
    break;
  }
}
lines.close();
await store.close();
