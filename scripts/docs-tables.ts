// Markdown tables generated from the schema and the error catalogue. `npm run docs` (scripts/docs.ts)
// writes them into the README between markers; test/unit/config/docs.test.ts fails when the README is out of date.
// Development tooling only: it lives in scripts/, outside the build (tsconfig.build.json compiles src/).

import { FIELDS } from '../src/config/schema.js';
import { gatewayReads, SDK_SETTINGS } from '../src/config/sdk-names.js';
import { CATALOGUE, FSPIOP_DESCRIPTIONS } from '../src/errors.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function defaultOf(schema: { safeParse(v: unknown): { success: boolean; data?: unknown } }): string {
  const r = schema.safeParse(undefined);
  if (!r.success || r.data === undefined) return '—';
  return Array.isArray(r.data) ? (r.data.length ? `\`${r.data.join(',')}\`` : '—') : `\`${String(r.data)}\``;
}

/**
 * Caption rows of the configuration table, keyed by the first variable of each group. The schema lists
 * its fields grouped by concern; a new field joins the group it is declared in. A key that is no longer a
 * variable fails the generator (and so test/unit/config/docs.test.ts), so the captions cannot drift silently.
 */
const CONFIG_GROUPS: Readonly<Record<string, string>> = {
  SWITCHGUARD_PROFILE: 'Profile, role and process',
  INBOUND_LISTEN_HOST: 'Inbound listener (mTLS) and peer identity',
  OCSP_POLICY: 'Client certificate revocation (OCSP) and stapling',
  MAX_BODY_BYTES: 'FSPIOP request checks',
  INBOUND_UPSTREAM_URL: 'Upstream (where inbound requests go)',
  OUTBOUND_LISTEN_HOST: 'Outbound listener and peers',
  ADMIN_LISTEN_HOST: 'Admin listener and API',
  RATE_LIMITS_PATH: 'Traffic control (per-DFSP limits)',
  TLS_HANDSHAKE_TIMEOUT_MS: 'Connection limits (every listener)',
  VALIDATE_INBOUND_JWS: 'JWS, freshness and replay',
  ILP_VERSION: 'ILP',
  STORE: 'Store and security state',
};

export function configTableMarkdown(): string {
  const fields = Object.values(FIELDS);
  for (const env of Object.keys(CONFIG_GROUPS)) {
    if (!fields.some((f) => f.env === env)) throw new Error(`CONFIG_GROUPS names ${env}, which is not a configuration variable`);
  }
  const rows = fields.flatMap((f) => {
    const row = `| \`${f.env}\` | ${defaultOf(f.schema)} | ${cell(f.doc)}${'secret' in f && f.secret ? ' *(secret)*' : ''} |`;
    const caption = CONFIG_GROUPS[f.env];
    return caption === undefined ? [row] : [`| **${caption}** | | |`, row];
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export function errorTableMarkdown(): string {
  const rows = Object.entries(CATALOGUE).map(
    ([code, e]) => `| \`${code}\` | ${e.fspiopCode} ${FSPIOP_DESCRIPTIONS[e.fspiopCode]} | ${e.httpStatus} | ${cell(e.operatorHint)} |`,
  );
  return ['| gateway code | FSPIOP error | HTTP | what to check |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** docs/sdk-scheme-adapter.md: the SDK's environment names beside the gateway's (src/config/sdk-names.ts). */
export function sdkEnvTableMarkdown(): string {
  const rows = SDK_SETTINGS.map((s) => {
    const gateway = gatewayReads(s) ? 'same name' : s.gateway.length ? s.gateway.map((g) => `\`${g}\``).join(', ') : '—';
    const warns = !gatewayReads(s) && s.gateway.length > 0 ? ' Start-up warns when only the SDK name is set.' : '';
    return `| \`${s.sdk}\` | ${gateway} | ${cell(s.note)}${warns} |`;
  });
  return ['| sdk-scheme-adapter 18.0.2 | gateway | notes |', '| --- | --- | --- |', ...rows].join('\n');
}

export const BLOCKS = { 'config-table': configTableMarkdown, 'error-table': errorTableMarkdown, 'sdk-env-table': sdkEnvTableMarkdown } as const;

/** The files whose generated blocks `npm run docs` rewrites. */
export const GENERATED_DOCS = ['docs/configuration.md', 'docs/errors.md', 'docs/sdk-scheme-adapter.md'] as const;

/** Replaces each `<!-- name:start -->…<!-- name:end -->` block with the generated table. */
export function renderBlocks(readme: string): string {
  let out = readme;
  for (const [name, gen] of Object.entries(BLOCKS)) {
    const re = new RegExp(`(<!-- ${name}:start -->)[\\s\\S]*?(<!-- ${name}:end -->)`);
    out = out.replace(re, (_m, a: string, b: string) => `${a}\n${gen()}\n${b}`);
  }
  return out;
}
