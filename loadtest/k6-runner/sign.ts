// Signing a run's set apart from the runner: in a child process, whose heap (a few hundred MB of signed
// requests at 1000/s) goes with it. Signed in the runner itself, that garbage stayed in the runner's heap, and
// V8's memory reducer collected it during the run (mark-compacts of 64 and 51 ms, seen with --trace-gc) on the
// CPUs the runner shares with k6, whose requests waited meanwhile (docs/performance/k6.md §2).
//   node --import tsx loadtest/k6-runner/sign.ts < job.json     (what signApart spawns)
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { IlpVersion } from '../../src/ilp/keyring.js';
import { buildPreparedSet, signingKeysFromFiles } from '../driver/prepare-set.js';
import { writeSplitSets } from './sets.js';

/** Everything the signing needs, as plain data. */
export interface SignJob {
  readonly count: number;
  /** Each identity's JWS signing key file. */
  readonly signers: readonly { readonly fspId: string; readonly jwsKey: string }[];
  readonly badShare: number;
  readonly quotesOnly: boolean;
  readonly block: number;
  readonly skewSeconds: number;
  readonly ilpVersion: IlpVersion;
  /** Where the per-DFSP files and their manifest go (sets.ts writeSplitSets). */
  readonly dir: string;
}

/** Signs the set and cuts it into per-DFSP files in `job.dir`. */
async function signSplit(job: SignJob): Promise<void> {
  const set = await buildPreparedSet({
    count: job.count,
    keys: signingKeysFromFiles(job.signers),
    badShare: job.badShare,
    quotesOnly: job.quotesOnly,
    block: job.block,
    skewSeconds: job.skewSeconds,
    ilpVersion: job.ilpVersion,
  });
  writeSplitSets(set, job.dir);
}

const SELF = fileURLToPath(import.meta.url);

/** {@link signSplit} in a child process (this file, through tsx); rejects with what the child wrote to stderr. */
export function signApart(job: SignJob): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), SELF], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (code === 0) done();
      else fail(new Error(`signing the set failed (${code ?? signal}): ${stderr.trim().split('\n').slice(-3).join(' ') || 'no message'}`));
    });
    child.stdin.end(JSON.stringify(job));
  });
}

if (process.argv[1] === SELF) {
  let input = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    input += d;
  });
  process.stdin.on('end', () => {
    signSplit(JSON.parse(input) as SignJob).then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e instanceof Error ? e.message : e);
        process.exit(1);
      },
    );
  });
}
