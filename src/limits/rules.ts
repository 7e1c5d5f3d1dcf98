// The limits file (RATE_LIMITS_PATH, docs/operations.md): per-DFSP and per-resource-class request rates, bursts and
// concurrency. Pure: text in, a frozen LimitsTable out, or an Error naming the first problem.
//
//   default: { rps: 50, burst: 20, concurrency: 20 }          # unlisted FSP ids (absent: unlisted are unlimited)
//   fsps:
//     dfsp1: { rps: 200, burst: 50, concurrency: 100,
//              classes: { transfers: { rps: 80, burst: 20, concurrency: 40 } } }
//
// An fsps entry replaces the default for that FSP (no merging). The entry's own rps/burst/concurrency bound
// all of the FSP's traffic; a class entry adds a tighter bound for that class only. Both apply.
// Resource classes are derived from the one FSPIOP resource table (fspiop/resources.ts): CLASS_OF is a
// Record over every Resource, so a new resource does not compile until it has a class.

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { isValidFspId } from '../fspiop/headers.js';
import { RESOURCES, type Resource } from '../fspiop/resources.js';

export const LIMIT_CLASSES = ['lookups', 'quotes', 'transfers', 'other'] as const;
export type LimitClass = (typeof LIMIT_CLASSES)[number];

/** The resource class of every FSPIOP resource. */
export const CLASS_OF: Readonly<Record<Resource, LimitClass>> = Object.freeze({
  participants: 'lookups',
  parties: 'lookups',
  quotes: 'quotes',
  bulkQuotes: 'quotes',
  fxQuotes: 'quotes',
  transfers: 'transfers',
  bulkTransfers: 'transfers',
  fxTransfers: 'transfers',
  transactionRequests: 'other',
  authorizations: 'other',
  transactions: 'other',
  services: 'other',
});

/** Resources of each class, for documentation (docs/operations.md) and the admin listing. */
export const RESOURCES_OF: Readonly<Record<LimitClass, readonly Resource[]>> = Object.freeze(
  Object.fromEntries(LIMIT_CLASSES.map((k) => [k, RESOURCES.filter((r) => CLASS_OF[r] === k)])) as Record<LimitClass, Resource[]>,
);

/** One bound: `rps` requests per second sustained (a second's worth at once), `burst` more per BURST_WINDOW_SECONDS (gcra.ts), `concurrency` in flight. */
export interface Rule {
  readonly rps: number;
  readonly burst: number;
  /** Requests in flight at once; undefined: no concurrency bound. */
  readonly concurrency: number | undefined;
}

export interface FspLimits extends Rule {
  readonly classes: Readonly<Partial<Record<LimitClass, Rule>>>;
}

export interface LimitsTable {
  readonly default: FspLimits | undefined;
  readonly fsps: ReadonlyMap<string, FspLimits>;
}

/** The burst bucket refills over this many seconds, so a sustained flood gets at most rps + burst/60 per second. */
export const BURST_WINDOW_SECONDS = 60;
const MAX_RPS = 1_000_000;

const ruleSchema = z
  .object({
    rps: z.number().int('rps must be a whole number of requests per second').min(1, 'rps must be at least 1').max(MAX_RPS),
    burst: z.number().int().min(0, 'burst must not be negative').max(MAX_RPS).default(0),
    concurrency: z.number().int().min(1, 'concurrency must be at least 1').max(1_000_000).optional(),
  })
  .strict();

const fspSchema = ruleSchema
  .extend({
    classes: z.partialRecord(z.enum(LIMIT_CLASSES), ruleSchema).optional(),
  })
  .strict();

const fileSchema = z
  .object({
    default: fspSchema.optional(),
    fsps: z.record(z.string(), fspSchema).default({}),
  })
  .strict();

const rule = (r: z.output<typeof ruleSchema>): Rule => Object.freeze({ rps: r.rps, burst: r.burst, concurrency: r.concurrency });
const fspLimits = (f: z.output<typeof fspSchema>): FspLimits =>
  Object.freeze({
    ...rule(f),
    classes: Object.freeze(Object.fromEntries(Object.entries(f.classes ?? {}).map(([k, v]) => [k, rule(v!)]))),
  });

/** Validates one run-time override (admin API body): a single FSP entry. */
export function parseFspLimits(value: unknown): FspLimits {
  const r = fspSchema.safeParse(value);
  if (!r.success) throw new Error(`limits: ${describe(r.error)}`);
  return fspLimits(r.data);
}

function describe(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.map(String).join('.') || '(top level)'}: ${i.message}`;
}

/**
 * Parses a limits file (JSON is YAML, so one parser serves both).
 * @param isKnown when given, every fsps key must be an FSP id the gateway knows (a typo must not silently
 *   leave the real DFSP on the default).
 * @throws Error (plain, message starting "limits") for any text that is not a valid limits file.
 */
export function parseLimits(text: string, isKnown?: (fspId: string) => boolean): LimitsTable {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (cause) {
    throw new Error(`limits file is not JSON or YAML: ${(cause as Error).message.split('\n')[0]}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('limits file must be an object with default and fsps');
  const r = fileSchema.safeParse(raw);
  if (!r.success) throw new Error(`limits file: ${describe(r.error)}`);
  const fsps = new Map<string, FspLimits>();
  for (const [id, v] of Object.entries(r.data.fsps)) {
    if (!isValidFspId(id)) throw new Error(`limits file: invalid FSP id ${JSON.stringify(id.slice(0, 40))}`);
    if (isKnown && !isKnown(id)) throw new Error(`limits file: unknown FSP id ${JSON.stringify(id)} (not in the key or peer directory)`);
    fsps.set(id, fspLimits(v));
  }
  return Object.freeze({ default: r.data.default ? fspLimits(r.data.default) : undefined, fsps });
}

export const EMPTY_LIMITS: LimitsTable = Object.freeze({ default: undefined, fsps: new Map() });

/** The limits of one FSP: a run-time override first, then its file entry, then the default. */
export function limitsFor(table: LimitsTable, overrides: ReadonlyMap<string, FspLimits>, fspId: string): FspLimits | undefined {
  return overrides.get(fspId) ?? table.fsps.get(fspId) ?? table.default;
}
