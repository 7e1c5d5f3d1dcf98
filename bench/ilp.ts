// ILP benchmark: CPU per fulfilment validation (target ≤ 5 µs) and generation of condition +
// fulfilment + packet beside the SDK's getQuoteResponseIlp, for v1 and v4.
// Run alone: node --import tsx bench/ilp.ts
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { validateFulfilment } from '../src/ilp/crypto.js';
import { createKeyring, type IlpVersion } from '../src/ilp/keyring.js';
import { buildIlp } from '../src/ilp/packet.js';
import { transactionObjectOf } from '../src/ilp/transaction.js';

const require = createRequire(import.meta.url);
const { Ilp } = require('@mojaloop/sdk-standard-components');
const logger = { child: () => logger, debug() {}, info() {}, warn() {}, error() {}, isDebugEnabled: false };
const SECRET = 'bench-ilp-secret-of-at-least-32-chars';

/** CPU microseconds (user + system) per call of fn over n calls, after a warm-up. */
function cpuPerOp(n: number, fn: () => unknown): number {
  for (let i = 0; i < Math.min(n, 2000); i++) fn();
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) fn();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / n;
}

const quoteRequest = {
  quoteId: '0f5a7a6e-3c1b-4c5e-9b3a-6d1e2f3a4b5c',
  transactionId: '7c23e80c-d078-4077-8263-2c047876fcf6',
  payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' } },
  payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: 'payerfsp' }, name: 'Jane Doe' },
  amountType: 'RECEIVE',
  amount: { amount: '100', currency: 'USD' },
  transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
};
const quoteResponse = { transferAmount: { amount: '100.50', currency: 'USD' }, expiration: '2029-01-01T10:04:00.000Z', note: 'bench' };

export interface IlpBenchResult {
  validateUsPerOp: number;
  sdkValidateUsPerOp: number;
  validateTargetMet: boolean;
  generate: Record<string, { oursUsPerOp: number; sdkUsPerOp: number }>;
}

/** Runs the ILP benchmark (≈ 5–10 s) and prints a table. */
export async function run(): Promise<IlpBenchResult> {
  const ring = createKeyring([SECRET]);
  const sample = buildIlp('1', transactionObjectOf(quoteRequest, quoteResponse), ring);
  const sdk1 = Ilp.ilpFactory('v1', { secret: SECRET, logger });
  const validateUsPerOp = cpuPerOp(300_000, () => validateFulfilment(sample.fulfilment, sample.condition));
  const sdkValidateUsPerOp = cpuPerOp(300_000, () => sdk1.validateFulfil(sample.fulfilment, sample.condition));
  const generate: IlpBenchResult['generate'] = {};
  for (const v of ['1', '4'] as IlpVersion[]) {
    const sdk = Ilp.ilpFactory(`v${v}`, { secret: SECRET, logger });
    generate[`v${v}`] = {
      oursUsPerOp: cpuPerOp(20_000, () => buildIlp(v, transactionObjectOf(quoteRequest, quoteResponse), ring)),
      sdkUsPerOp: cpuPerOp(20_000, () => sdk.getQuoteResponseIlp(quoteRequest, quoteResponse)),
    };
  }
  const r = { validateUsPerOp, sdkValidateUsPerOp, validateTargetMet: validateUsPerOp <= 5, generate };
  const f = (x: number) => x.toFixed(2).padStart(8);
  console.log('ILP (CPU µs per operation, user+system)');
  console.log(
    `  validate fulfilment      ${f(validateUsPerOp)}   (SDK validateFulfil ${f(sdkValidateUsPerOp)})   target ≤ 5 µs: ${r.validateTargetMet ? 'met' : 'MISSED'}`,
  );
  for (const [v, g] of Object.entries(generate)) {
    console.log(`  generate ${v} (packet+condition+fulfilment) ${f(g.oursUsPerOp)}   (SDK getQuoteResponseIlp ${f(g.sdkUsPerOp)})`);
  }
  return r;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
