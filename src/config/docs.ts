// Markdown tables generated from the schema and the error catalogue. `npm run docs` writes them into
// the README between markers; test/unit/config/docs.test.ts fails when the README is out of date.
import { readFileSync } from 'node:fs';
import { CATALOGUE, FSPIOP_DESCRIPTIONS } from '../errors.js';
import { FIELDS } from './schema.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function defaultOf(schema: { safeParse(v: unknown): { success: boolean; data?: unknown } }): string {
  const r = schema.safeParse(undefined);
  if (!r.success || r.data === undefined) return '—';
  return Array.isArray(r.data) ? (r.data.length ? `\`${r.data.join(',')}\`` : '—') : `\`${String(r.data)}\``;
}

export function configTableMarkdown(): string {
  const rows = Object.values(FIELDS).map((f) => `| \`${f.env}\` | ${defaultOf(f.schema)} | ${cell(f.doc)}${'secret' in f && f.secret ? ' *(secret)*' : ''} |`);
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export function errorTableMarkdown(): string {
  const rows = Object.entries(CATALOGUE).map(([code, e]) =>
    `| \`${code}\` | ${e.fspiopCode} ${FSPIOP_DESCRIPTIONS[e.fspiopCode]} | ${e.httpStatus} | ${cell(e.operatorHint)} |`);
  return ['| gateway code | FSPIOP error | HTTP | what to check |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export const BLOCKS = { 'config-table': configTableMarkdown, 'error-table': errorTableMarkdown } as const;

/** A docs/*.md file as a README section: headings one level deeper, outside code fences. */
export function includeDoc(path: string, read: (p: string) => string = (p) => readFileSync(p, 'utf8')): string {
  let fenced = false;
  return read(path).trimEnd().split('\n').map((line) => {
    if (line.startsWith('```')) fenced = !fenced;
    return !fenced && /^#{1,5} /.test(line) ? `#${line}` : line;
  }).join('\n');
}

/** Replaces each `<!-- name:start -->…<!-- name:end -->` block with the generated table, and each
 * `<!-- include:docs/x.md:start -->…:end -->` block with that document. */
export function renderBlocks(readme: string, read?: (p: string) => string): string {
  let out = readme.replace(/(<!-- include:([\w./-]+\.md):start -->)[\s\S]*?(<!-- include:\2:end -->)/g,
    (_m, a: string, path: string, b: string) => `${a}\n${includeDoc(path, read)}\n${b}`);
  for (const [name, gen] of Object.entries(BLOCKS)) {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    out = out.replace(re, (_m, a: string, b: string) => `${a}\n${gen()}\n${b}`);
  }
  return out;
}
