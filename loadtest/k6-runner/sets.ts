// Per-DFSP request files: a prepared set cut by sender, one file per identity, so each k6 process loads
// only what it sends (its client certificate is the FSPIOP-Source of every request in it), and a manifest
// that records each sender's share of the set: the weights the runner splits the rate by.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PreparedSet } from '../driver/dataset.js';

export interface SenderFile {
  /** <fsp>.json in the manifest file; absolute once read by readSplitManifest. */
  readonly file: string;
  /** Requests this DFSP sends (its weight in the rate split). */
  readonly requests: number;
  /** DFSPs its requests go to (payees of its POSTs, payers of its PUTs). */
  readonly peers: readonly string[];
}

export interface SplitManifest {
  readonly version: 1;
  readonly createdAt: string;
  readonly validUntil: string;
  readonly reusable: boolean;
  readonly total: number;
  readonly senders: Readonly<Record<string, SenderFile>>;
}

const MANIFEST = 'manifest.json';

/** The set's requests grouped by sender, each group in the set's order (the pipelining survives the cut). */
export function splitBySender(set: PreparedSet): Map<string, PreparedSet & { readonly sender: string }> {
  const groups = new Map<string, PreparedSet['requests'][number][]>();
  for (const r of set.requests) {
    const g = groups.get(r.fsp);
    if (g) g.push(r);
    else groups.set(r.fsp, [r]);
  }
  const out = new Map<string, PreparedSet & { readonly sender: string }>();
  for (const [fsp, requests] of groups) out.set(fsp, { ...set, sender: fsp, requests });
  return out;
}

/** Writes <dir>/<fsp>.json for every sender and <dir>/manifest.json; returns the manifest (file names relative to dir). */
export function writeSplitSets(set: PreparedSet, dir: string): SplitManifest {
  mkdirSync(dir, { recursive: true });
  const senders: Record<string, SenderFile> = {};
  for (const [fsp, part] of splitBySender(set)) {
    const file = `${fsp}.json`;
    writeFileSync(join(dir, file), JSON.stringify(part));
    senders[fsp] = { file, requests: part.requests.length, peers: [...new Set(part.requests.map((r) => r.destination))].sort() };
  }
  const manifest: SplitManifest = {
    version: 1,
    createdAt: set.createdAt,
    validUntil: set.validUntil,
    reusable: set.reusable,
    total: set.requests.length,
    senders,
  };
  writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2));
  return manifest;
}

/** Reads <dir>/manifest.json (from `npm run loadtest:prepare -- --split-dir DIR`). */
export function readSplitManifest(dir: string): SplitManifest {
  const path = join(dir, MANIFEST);
  let m: SplitManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as SplitManifest;
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message} (make it with npm run loadtest:prepare -- --split-dir ${dir})`);
  }
  if (m.version !== 1 || typeof m.senders !== 'object') throw new Error(`${path}: not a split manifest`);
  const senders = Object.fromEntries(Object.entries(m.senders).map(([fsp, s]) => [fsp, { ...s, file: resolve(dir, s.file) }]));
  return { ...m, senders };
}
