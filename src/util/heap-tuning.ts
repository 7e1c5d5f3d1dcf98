// V8 heap tuning applied by the entry point (src/main.ts) before the gateway takes traffic.
//
// Allocation-site pretenuring: V8 watches how many objects from each allocation site survive a scavenge
// and, past a threshold, allocates that site's objects directly in the old generation. A request's objects
// live about as long as one round trip to Redis and one to the upstream; at 1000 requests/s some sites
// are judged long-lived and every later request's objects from them then die in the old generation, where
// only a major collection frees them. Measured side by side (docs/performance/2026-11-30-pretenuring-and-http2.md):
// on Node 20, with pretenuring, the gateway's heap grew by about 1 MB per scavenge and needed a major collection
// every 3–5 s; without it the heap stayed flat and p99 at 1000 journeys/s was about halved. On Node 24 no
// difference was measured.
//
// The flag is V8's own (`node --v8-options`: --allocation-site-pretenuring, on by default). Setting it at run
// time through v8.setFlagsFromString works for flags read when the heap acts on them, as this one is
// (Heap::ProcessPretenuringFeedback); the test in test/unit/util/heap-tuning.test.ts checks that it does.

import { setFlagsFromString } from 'node:v8';

const FLAG = 'allocation-site-pretenuring';

/** Whether the node command line chose the pretenuring setting itself (`--allocation-site-pretenuring` or `--no-…`). */
export function pretenuringChosen(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => {
    const name = a.replace(/^--/, '').replace(/_/g, '-').split('=')[0] ?? '';
    return name === FLAG || name === `no-${FLAG}`;
  });
}

/**
 * Turns allocation-site pretenuring off unless the node command line chose a setting
 * (`node --allocation-site-pretenuring dist/main.js` keeps V8's default). Returns whether it changed anything.
 */
export function tuneHeap(execArgv: readonly string[], set: (flags: string) => void = setFlagsFromString): boolean {
  if (pretenuringChosen(execArgv)) return false;
  set(`--no-${FLAG}`);
  return true;
}
