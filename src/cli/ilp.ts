// `switchguard ilp generate|decode`: test ILP material like Mojaloop's generate-ilp-test script, and a
// packet decoder. Uses the same codecs as the gateway (src/ilp/), so output is SDK-compatible.
import { randomUUID } from 'node:crypto';
import { isGatewayError } from '../errors.js';
import { createKeyring, DEV_ILP_SECRET, type IlpVersion } from '../ilp/keyring.js';
import { buildIlp, decodePacket } from '../ilp/packet.js';
import { transactionObjectOf } from '../ilp/transaction.js';
import { parseCommand, UsageError } from './args.js';
import type { CliIo } from './io.js';

const USAGE = `usage: switchguard ilp generate [--version 1|4] [--secret S] [--amount A --currency C] [--payee ID] [--payer ID]
       switchguard ilp decode PACKET
`;

const GENERATE_OPTIONS = {
  version: { type: 'string' },
  secret: { type: 'string' },
  amount: { type: 'string' },
  currency: { type: 'string' },
  payee: { type: 'string' },
  payer: { type: 'string' },
} as const;

const print = (io: CliIo, v: unknown) => io.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

function generate(argv: string[], io: CliIo): number {
  const o = parseCommand(argv, GENERATE_OPTIONS).values;
  const version = o.version ?? '1';
  if (version !== '1' && version !== '4') {
    io.stderr.write(USAGE);
    return 2;
  }
  if (o.secret === '') {
    io.stderr.write('ilp: --secret is empty\n');
    return 2;
  }
  let secret = o.secret ?? process.env.ILP_SECRET?.split(',')[0]?.trim();
  // An argument is readable by every local user (ps, /proc/<pid>/cmdline) and stays in shell history.
  if (o.secret !== undefined && o.secret !== DEV_ILP_SECRET)
    io.stderr.write('ilp: --secret is visible to other local users (process list, shell history); prefer ILP_SECRET in the environment\n');
  if (!secret) {
    secret = DEV_ILP_SECRET;
    io.stderr.write('ilp: no --secret or ILP_SECRET given; using the development secret\n');
  }
  const amount = { amount: o.amount ?? '100', currency: o.currency ?? 'USD' };
  const quoteRequest = {
    quoteId: randomUUID(),
    transactionId: randomUUID(),
    payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: o.payee ?? 'payeefsp' } },
    payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: o.payer ?? 'payerfsp' } },
    amountType: 'SEND',
    amount,
    transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
  };
  const quoteResponse = { transferAmount: amount, expiration: new Date(Date.now() + 60_000).toISOString() };
  const transactionObject = transactionObjectOf(quoteRequest, quoteResponse);
  try {
    const r = buildIlp(version as IlpVersion, transactionObject, createKeyring([secret], { development: secret === DEV_ILP_SECRET }));
    print(io, { version: Number(version), condition: r.condition, fulfilment: r.fulfilment, ilpPacket: r.ilpPacket, transactionObject });
    return 0;
  } catch (e) {
    io.stderr.write(`ilp: ${(e as Error).message}\n`);
    return 1;
  }
}

function decode(argv: string[], io: CliIo): number {
  const [packet] = parseCommand(argv, {}, [], 1).positionals;
  if (!packet) {
    io.stderr.write(USAGE);
    return 2;
  }
  try {
    const d = decodePacket(packet.trim());
    print(io, {
      type: d.version === '1' ? 'ILP Payment (v1)' : 'ILPv4 Prepare',
      version: Number(d.version),
      amount: d.amount,
      ...(d.version === '1'
        ? { account: d.address }
        : {
            destination: d.address,
            expiresAt: d.expiresAt?.toISOString(),
            condition: d.condition?.toString('base64url'),
          }),
      transactionObject: d.transaction,
    });
    return 0;
  } catch (e) {
    io.stderr.write(`ilp: ${isGatewayError(e) ? (e.detail ?? e.code) : (e as Error).message}\n`);
    return 1;
  }
}

/** `switchguard ilp <generate|decode> …`; returns the exit code. */
export async function ilpCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'generate') return generate(rest, io);
    if (sub === 'decode') return decode(rest, io);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`ilp: ${e.message}\n`);
  }
  io.stderr.write(USAGE);
  return 2;
}
