// Where the k6 processes run: the CPUs this runner may use (its children inherit them, so
// `taskset -c 1 npm run loadtest:k6 …` confines every k6 process to CPU 1) and the GOMAXPROCS each gets.
// On a machine shared with the gateway, k6 on cores of its own is what keeps its scheduling bursts out of the
// gateway's latency (docs/performance/k6.md §2, "Sharing a machine").
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/** The CPU numbers of a Linux CPU list (`0-3,8,10-11`, as in /proc/self/status `Cpus_allowed_list`), ascending. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a CPU list: "${text}"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`not a CPU list: "${text}" (${part} runs backwards)`);
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** `Cpus_allowed_list` of a /proc/<pid>/status text, or undefined when it has none (not Linux). */
export function allowedCpusFromStatus(status: string): number[] | undefined {
  const m = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(status);
  return m ? parseCpuList(m[1] as string) : undefined;
}

/** The CPUs this process may run on (its own `Cpus_allowed_list`), or undefined off Linux. */
export function ownCpus(): number[] | undefined {
  try {
    return allowedCpusFromStatus(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return undefined;
  }
}

/** A CPU list written back compactly: [0,1,2,5] → "0-2,5". */
export function formatCpuList(list: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i;
    while (j + 1 < list.length && (list[j + 1] as number) === (list[j] as number) + 1) j++;
    parts.push(i === j ? String(list[i]) : `${list[i]}-${list[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * GOMAXPROCS for each of `processes` k6 processes sharing `usable` CPUs: an equal share, at least 1. Each Go
 * runtime otherwise runs one scheduler thread per core; with more processes than cores their idle threads
 * spin and wake one another (on 2 cores, 8 processes at 1000 requests/s spent about 10 % more CPU; docs/performance/k6.md).
 */
export function goMaxProcs(usable: number, processes: number): number {
  return Math.max(1, Math.floor(usable / Math.max(1, processes)));
}

/** Where this runner's k6 processes will run, as printed before the run and kept in plan.json. */
export interface Placement {
  /** The CPUs this runner may use (Linux), which its k6 processes inherit; undefined elsewhere. */
  readonly cpus: string | undefined;
  /** How many CPUs that is (the affinity mask's size; every CPU where there is no mask). */
  readonly usable: number;
  readonly machineCpus: number;
  /** GOMAXPROCS of every k6 process: the operator's when valid, otherwise {@link goMaxProcs}. */
  readonly goMaxProcs: string;
  readonly fromOperator: boolean;
  /** An operator's GOMAXPROCS that Go would ignore (not a positive integer), replaced by the share. */
  readonly ignored: string | undefined;
}

/** Go's runtime takes GOMAXPROCS only as a positive decimal integer and otherwise ignores it (one thread per CPU). */
const VALID_GOMAXPROCS = /^[1-9]\d*$/;

export function placement(processes: number, env: NodeJS.ProcessEnv = process.env): Placement {
  const allowed = ownCpus();
  const given = env.GOMAXPROCS;
  const fromOperator = given !== undefined && VALID_GOMAXPROCS.test(given);
  // availableParallelism() honours the affinity mask (libuv reads sched_getaffinity), like Go's own default.
  const usable = availableParallelism();
  return {
    cpus: allowed ? formatCpuList(allowed) : undefined,
    usable,
    machineCpus: cpus().length,
    goMaxProcs: fromOperator ? given : String(goMaxProcs(usable, processes)),
    fromOperator,
    ignored: given !== undefined && given !== '' && !fromOperator ? given : undefined,
  };
}

/** One line for the operator: which CPUs k6 gets, out of how many, and its GOMAXPROCS. */
export function describePlacement(p: Placement, processes: number): string {
  const where = p.cpus === undefined ? 'on any CPU' : `on CPUs ${p.cpus} (${p.usable} of ${p.machineCpus})`;
  const gmp = `GOMAXPROCS=${p.goMaxProcs} each${p.fromOperator ? ' (set by you)' : ''}`;
  const ignored = p.ignored === undefined ? '' : `; your GOMAXPROCS=${JSON.stringify(p.ignored)} is not a positive integer, which Go ignores: replaced`;
  const hint = p.usable > 1 ? '; if the gateway runs on these CPUs too, give k6 CPUs of its own with taskset (docs/performance/k6.md §2)' : '';
  return `${processes} k6 processes ${where}, ${gmp}${ignored}${hint}`;
}

/** The k6 processes' environment: the runner's own, with GOMAXPROCS set to the placement's. */
export function k6Environment(p: Placement, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return p.fromOperator ? env : { ...env, GOMAXPROCS: p.goMaxProcs };
}
