// Dockerfile invariants, checked statically (no container engine runs in CI): pinned Node 24 LTS base in
// every stage, a non-root numeric user, production dependencies only and no package manager or build tool
// in the final stage, HEALTHCHECK on the admin /health, OCI labels, production profile by default.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../../', import.meta.url);
const text = readFileSync(new URL('Dockerfile', root), 'utf8');

interface Instr {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name: string | undefined;
  instrs: Instr[];
}

/** Joins continuation lines, drops comments, splits into stages. */
function parseDockerfile(src: string): Stage[] {
  const lines = src.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `unparsable Dockerfile line: ${line}`);
    const op = m![1]!.toUpperCase();
    const args = m![2]!.replace(/\s+/g, ' ');
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(f, `FROM ${args}`);
      stages.push({ base: f![1]!, name: f![2], instrs: [] });
    } else {
      assert.ok(stages.length > 0, `${op} before FROM`);
      stages.at(-1)!.instrs.push({ op, args });
    }
  }
  return stages;
}

const stages = parseDockerfile(text);
const final = stages.at(-1)!;
const ops = (s: Stage, op: string) => s.instrs.filter((i) => i.op === op);
const NODE_PIN = /^node:(24\.\d+\.\d+)-bookworm-slim$/;

test('dockerfile: multi-stage, every stage on the same exactly pinned Node 24 LTS image', () => {
  assert.ok(stages.length >= 2, 'multi-stage');
  const versions = new Set<string>();
  for (const s of stages) {
    const m = NODE_PIN.exec(s.base);
    assert.ok(m, `FROM ${s.base}: expected node:24.x.y-bookworm-slim (exact version, no floating tag)`);
    versions.add(m![1]!);
  }
  assert.equal(versions.size, 1, 'one Node version across stages');
  // Node 24 is even-numbered, hence LTS; CI's second pass runs the same version (.ci/run reads it from here).
  assert.match(readFileSync(new URL('.ci/run', root), 'utf8'), /Dockerfile/);
});

test('dockerfile: the final stage runs as a numeric non-root user, the code root-owned', () => {
  const users = ops(final, 'USER');
  assert.equal(users.length, 1);
  const m = /^(\d+)(?::(\d+))?$/.exec(users[0]!.args);
  assert.ok(m, 'numeric uid (Kubernetes runAsNonRoot can only verify a number)');
  assert.notEqual(Number(m![1]), 0);
  if (m![2] !== undefined) assert.notEqual(Number(m![2]), 0);
  const userAt = final.instrs.indexOf(users[0]!);
  const entryAt = final.instrs.findIndex((i) => i.op === 'ENTRYPOINT' || i.op === 'CMD');
  assert.ok(userAt < entryAt, 'USER before ENTRYPOINT');
  for (const c of ops(final, 'COPY')) assert.doesNotMatch(c.args, /--chown=(node|1000)/, `the app's own files are not writable by the app: ${c.args}`);
});

test('dockerfile: no development dependencies, package manager or build tools in the final stage', () => {
  const runs = ops(final, 'RUN')
    .map((i) => i.args)
    .join(' ; ');
  assert.doesNotMatch(runs, /\bnpm (ci|install|i)\b/, 'no install in the final stage');
  assert.doesNotMatch(runs, /apt-get install|apk add|build-essential|\bpython3?\b|\bmake\b|\bg\+\+|\bgcc\b/, 'no build tools');
  assert.match(runs, /rm -rf [^;]*\/usr\/local\/lib\/node_modules\/npm/, 'npm removed');
  assert.match(runs, /\/usr\/local\/bin\/npx/, 'npx removed');
  const copies = ops(final, 'COPY');
  const nm = copies.filter((c) => /node_modules/.test(c.args));
  assert.equal(nm.length, 1, 'node_modules copied once');
  const from = /--from=(\S+)/.exec(nm[0]!.args)?.[1];
  const depStage = stages.find((s) => s.name === from);
  assert.ok(depStage, `node_modules from a named stage (${from})`);
  const depRuns = ops(depStage!, 'RUN')
    .map((i) => i.args)
    .join(' ; ');
  assert.match(depRuns, /npm ci [^;]*--omit=dev/, 'that stage installs production dependencies only');
  assert.doesNotMatch(depRuns, /npm (install|i) /);
  for (const c of copies) {
    assert.doesNotMatch(c.args, /\b(src|test|keys|tsconfig[^ ]*)\b(?! \.\/dist)/, `no sources, tests or keys in the image: ${c.args}`);
  }
  const ignore = readFileSync(new URL('.dockerignore', root), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const p of ['keys', 'node_modules', '.git', 'test']) assert.ok(ignore.includes(p), `.dockerignore: ${p}`);
  // Secret files at any depth (a pattern's '*' does not cross '/': '*.env' left config/production.env in the context),
  // and the image copies no configuration directory where an operator's filled-in copy could sit.
  for (const p of ['**/*.env', '**/*.key', '**/*.pem']) assert.ok(ignore.includes(p), `.dockerignore: ${p}`);
  assert.ok(!ignore.some((l) => l.startsWith('!') && /\.(env|key|pem)$/.test(l)), '.dockerignore re-includes no secret file');
  for (const c of copies) assert.doesNotMatch(c.args, /(^|\s)config(\/|\s|$)/, `no configuration directory in the image: ${c.args}`);
});

test('dockerfile: entrypoint, production profile, ports, HEALTHCHECK on /health, OCI labels', () => {
  const entry = ops(final, 'ENTRYPOINT')[0] ?? ops(final, 'CMD')[0];
  assert.ok(entry);
  assert.deepEqual(JSON.parse(entry!.args), ['node', 'dist/main.js'], 'exec form, node as PID 1 receives SIGTERM');
  const env = ops(final, 'ENV')
    .map((i) => i.args)
    .join(' ');
  assert.match(env, /\bSWITCHGUARD_PROFILE=production\b/);
  assert.match(env, /\bNODE_ENV=production\b/);
  assert.deepEqual(
    ops(final, 'EXPOSE')
      .flatMap((i) => i.args.split(' '))
      .sort(),
    ['8443', '8444', '9464'],
  );
  assert.equal(ops(final, 'STOPSIGNAL')[0]?.args, 'SIGTERM');
  const hc = ops(final, 'HEALTHCHECK');
  assert.equal(hc.length, 1);
  assert.match(hc[0]!.args, /CMD \[/);
  assert.match(hc[0]!.args, /\/health/);
  assert.match(hc[0]!.args, /ADMIN_LISTEN_PORT/);
  assert.doesNotMatch(hc[0]!.args, /\b(curl|wget)\b/, 'slim images have neither');
  const labels = ops(final, 'LABEL')
    .map((i) => i.args)
    .join(' ');
  for (const l of ['title', 'version', 'licenses', 'description']) assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${l}=`));
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string; license: string };
  assert.match(labels, new RegExp(`image\\.version="${pkg.version.replace(/\./g, '\\.')}"`));
  assert.match(labels, new RegExp(`image\\.licenses="${pkg.license}"`));
});
