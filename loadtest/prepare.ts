// `npm run loadtest:prepare -- --count N --out FILE`: writes a pre-signed request set for k6
// (SharedArray) or the Node driver (--data). Signed with the perffsp keys of `switchguard pki init`.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { blockFor, buildPreparedSet, loadSigningKeys } from './driver/prepare-set.js';

const USAGE = `usage: npm run loadtest:prepare -- --count N --out FILE [options]
  --count N           requests in the set (a journey is 4 requests; 2 with --quotes-only)   [required]
  --out FILE          where to write the JSON set                                          [required]
  --keys DIR          PKI from \`switchguard pki init\` (reads jws-private/<fsp>.key)         [keys]
  --fsps A,B,...      simulated DFSPs                                   [perffsp-1..perffsp-8]
  --bad-share X       share of requests with a broken signature (expect 400/3105)            [0]
  --quotes-only       only POST/PUT /quotes: no ILP state, the set may be replayed (breakpoint, soak)
  --rate R            planned arrival rate; journey steps are pipelined 1 s apart at that rate [1000]
  --ilp-version 1|4   ILP packet version                                                     [1]
  --skew S            the gateway's JWS_MAX_CLOCK_SKEW_SECONDS (recorded validity)         [300]
The Date headers are the time of preparation: the gateway accepts the set for --skew seconds.`;

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    out: { type: 'string' },
    keys: { type: 'string' },
    fsps: { type: 'string' },
    'bad-share': { type: 'string' },
    'quotes-only': { type: 'boolean' },
    rate: { type: 'string' },
    'ilp-version': { type: 'string' },
    skew: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const count = Number(values.count);
if (values.help || !values.out || !(count > 0)) {
  console.error(USAGE);
  process.exit(values.help ? 0 : 2);
}
const ilp = values['ilp-version'] ?? '1';
if (ilp !== '1' && ilp !== '4') throw new Error('--ilp-version must be 1 or 4');
const fsps = values.fsps ? values.fsps.split(',') : Array.from({ length: 8 }, (_, i) => `perffsp-${i + 1}`);
const rate = Number(values.rate ?? 1000);
const t = performance.now();
const set = await buildPreparedSet({
  count,
  keys: loadSigningKeys(values.keys ?? 'keys', fsps),
  badShare: Number(values['bad-share'] ?? 0),
  quotesOnly: values['quotes-only'] === true,
  block: blockFor(rate),
  ilpVersion: ilp,
  skewSeconds: Number(values.skew ?? 300),
});
writeFileSync(values.out, JSON.stringify(set));
console.error(`${set.requests.length} requests signed in ${((performance.now() - t) / 1000).toFixed(1)} s → ${values.out}; valid until ${set.validUntil}`);
