// `npm run loadtest:prepare -- --count N --out FILE`: writes a pre-signed request set for the Node driver
// (--data) or k6 (SharedArray); `--split-dir DIR` also cuts it into one file per sending DFSP, one for each
// k6 process (`npm run loadtest:k6 -- --data DIR`). Signed with the perffsp keys of `switchguard pki init`.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { blockFor, buildPreparedSet, loadSigningKeys } from './driver/prepare-set.js';
import { writeSplitSets } from './k6-runner/sets.js';

const USAGE = `usage: npm run loadtest:prepare -- --count N (--out FILE | --split-dir DIR) [options]
  --count N           requests in the set (a journey is 4 requests; 2 with --quotes-only)   [required]
  --out FILE          where to write the JSON set
  --split-dir DIR     one file per sending DFSP (DIR/<fsp>.json) and DIR/manifest.json, for k6:
                      one k6 process per DFSP (npm run loadtest:k6 -- --data DIR)
  --keys DIR          PKI from \`switchguard pki init\` (reads jws-private/<fsp>.key)         [keys]
  --fsps A,B,...      simulated DFSPs                                   [perffsp-1..perffsp-8]
  --bad-share X       share of requests with a broken signature (expect 400/3105)            [0]
  --quotes-only       only POST/PUT /quotes: no ILP state, the set may be replayed (breakpoint, soak)
  --from FSP          only POST /quotes sent by FSP (to the other --fsps in turn): a lean flood, one
                      signature per request, every request unique (not replayable)
  --rate R            planned arrival rate; journey steps are pipelined 1 s apart at that rate [1000]
  --step-gap S        seconds between the steps of a journey at that rate (raise it when the
                      gateway's latency approaches it: a transfer must follow its quote's answer)   [1]
  --ilp-version 1|4   ILP packet version                                                     [1]
  --skew S            the gateway's JWS_MAX_CLOCK_SKEW_SECONDS (recorded validity)         [300]
The Date headers are the time of preparation: the gateway accepts the set for --skew seconds.`;

const { values } = parseArgs({
  options: {
    count: { type: 'string' },
    out: { type: 'string' },
    'split-dir': { type: 'string' },
    keys: { type: 'string' },
    fsps: { type: 'string' },
    'bad-share': { type: 'string' },
    'quotes-only': { type: 'boolean' },
    from: { type: 'string' },
    rate: { type: 'string' },
    'step-gap': { type: 'string' },
    'ilp-version': { type: 'string' },
    skew: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const count = Number(values.count);
const splitDir = values['split-dir'];
if (values.help || !(values.out || splitDir) || !(count > 0)) {
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
  ...(values.from ? { from: values.from } : {}),
  block: blockFor(rate, Number(values['step-gap'] ?? 1) * 1000),
  ilpVersion: ilp,
  skewSeconds: Number(values.skew ?? 300),
});
if (values.out) writeFileSync(values.out, JSON.stringify(set));
const split = splitDir ? writeSplitSets(set, splitDir) : undefined;
const where = [values.out, split && `${Object.keys(split.senders).length} per-DFSP files in ${splitDir}`].filter(Boolean).join(' and ');
console.error(`${set.requests.length} requests signed in ${((performance.now() - t) / 1000).toFixed(1)} s → ${where}; valid until ${set.validUntil}`);
