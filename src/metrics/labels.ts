import type { Counter, Histogram } from 'prom-client';
// Label-value bounding and label-child caching for the metrics registry. Every label value the gateway
// exports comes from a bounded set, so a peer sending random FSPIOP-Source values (or an attacker
// probing random paths) cannot grow the number of series: values outside the set fold into one value.
import { CATALOGUE, FSPIOP_DESCRIPTIONS } from '../errors.js';
import { TLS_GROUP_NAMES } from '../tls/groups.js';

export const UNKNOWN = 'unknown';
const OTHER = 'other';

const ERROR_CODES: ReadonlySet<string> = new Set(Object.keys(CATALOGUE));
const FSPIOP_CODES: ReadonlySet<string> = new Set(Object.keys(FSPIOP_DESCRIPTIONS));
const METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

/** A GatewayError code, or 'other' for anything outside the catalogue. */
export const errorCodeLabel = (code: string | undefined): string => (code !== undefined && ERROR_CODES.has(code) ? code : OTHER);

/** An FSPIOP error code ('' for success), or 'other'. */
export const fspiopCodeLabel = (code: string): string => (code === '' || FSPIOP_CODES.has(code) ? code : OTHER);

export const methodLabel = (m: string): string => (METHODS.has(m) ? m : 'OTHER');

// The groups of src/tls/groups.ts, plus src/tls/negotiated-group.ts's answers when there is no group to name.
const TLS_GROUPS: ReadonlySet<string> = new Set([...TLS_GROUP_NAMES, 'none', UNKNOWN, OTHER]);
/** A key-exchange group name of the table (or none, unknown), else 'other'. */
export const tlsGroupLabel = (g: string): string => (TLS_GROUPS.has(g) ? g : OTHER);

/**
 * A label whose values are operator-controlled but not enumerable up front (route templates, upstream
 * targets, file paths): the first `cap` distinct values are kept, later ones fold into 'other'.
 */
export class CappedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly cap: number) {}

  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.cap || v.length === 0 || v.length > 200) return OTHER;
    this.seen.add(v);
    return v;
  }
}

/**
 * Memo of label children in nested Maps keyed by the (already bounded) label values, so the hot path
 * does one Map lookup per label and allocates nothing once a combination has been seen.
 */
export class ChildCache<C> {
  private readonly root = new Map<string, unknown>();
  constructor(private readonly make: (values: string[]) => C) {}

  get1(a: string): C {
    let c = this.root.get(a) as C | undefined;
    if (c === undefined) {
      c = this.make([a]);
      this.root.set(a, c);
    }
    return c;
  }

  get2(a: string, b: string): C {
    const m = this.level(this.root, a);
    let c = m.get(b) as C | undefined;
    if (c === undefined) {
      c = this.make([a, b]);
      m.set(b, c);
    }
    return c;
  }

  get3(a: string, b: string, d: string): C {
    const m = this.level(this.level(this.root, a), b);
    let c = m.get(d) as C | undefined;
    if (c === undefined) {
      c = this.make([a, b, d]);
      m.set(d, c);
    }
    return c;
  }

  get4(a: string, b: string, d: string, e: string): C {
    const m = this.level(this.level(this.level(this.root, a), b), d);
    let c = m.get(e) as C | undefined;
    if (c === undefined) {
      c = this.make([a, b, d, e]);
      m.set(e, c);
    }
    return c;
  }

  private level(m: Map<string, unknown>, k: string): Map<string, unknown> {
    let next = m.get(k) as Map<string, unknown> | undefined;
    if (next === undefined) {
      next = new Map();
      m.set(k, next);
    }
    return next;
  }
}

interface Incrementable {
  inc(labels: Record<string, string>, value?: number): void;
}
interface Observable {
  observe(labels: Record<string, string>, value: number): void;
}
export interface CounterChild {
  inc(value?: number): void;
}
export interface HistogramChild {
  observe(value: number): void;
}

/**
 * A ChildCache over a metric. Children call the metric with a label object built once per combination:
 * measured faster than prom-client's own labels() children, which rebuild that object on every call.
 */
export function children(metric: Counter<string>): ChildCache<CounterChild>;
export function children(metric: Histogram<string>): ChildCache<HistogramChild>;
export function children(metric: Counter<string> | Histogram<string>): ChildCache<CounterChild> | ChildCache<HistogramChild> {
  const names = (metric as unknown as { labelNames: readonly string[] }).labelNames;
  const labelsOf = (v: string[]) => Object.fromEntries(names.map((n, i) => [n, v[i] ?? '']));
  if ('observe' in metric) {
    const h = metric as unknown as Observable;
    return new ChildCache<HistogramChild>((v) => {
      const l = labelsOf(v);
      return { observe: (x) => h.observe(l, x) };
    });
  }
  const c = metric as unknown as Incrementable;
  return new ChildCache<CounterChild>((v) => {
    const l = labelsOf(v);
    return { inc: (n = 1) => c.inc(l, n) };
  });
}
