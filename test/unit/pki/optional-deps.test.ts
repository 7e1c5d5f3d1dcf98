// node-forge is an optional dependency used only by the development PKI (package.json). The gateway's
// startup modules must load without it, and `pki init` must say what is missing instead of a stack trace.
// Its absence is simulated in a child process by refusing to resolve 'node-forge'.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

/** A preload that makes require('node-forge') fail as it does when the package is not installed. */
const HIDE_FORGE = `
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'node-forge') { const e = new Error("Cannot find module 'node-forge'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
  return resolve.call(this, request, ...rest);
};
`;

function run(script: string, hideForgeIn?: string): { status: number | null; stdout: string; stderr: string } {
  const preload: string[] = [];
  if (hideForgeIn !== undefined) {
    writeFileSync(join(hideForgeIn, 'hide-forge.cjs'), HIDE_FORGE);
    preload.push('--require', join(hideForgeIn, 'hide-forge.cjs'));
  }
  const r = spawnSync(process.execPath, [...preload, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the startup modules do not load node-forge', () => {
  const r = run(`
    await import('./src/gateway.ts');
    await import('./src/pki/dev-pki.ts');
    const { createRequire } = await import('node:module');
    const cache = createRequire(import.meta.url).cache;
    console.log(Object.keys(cache).filter((k) => k.includes('/node-forge/')).length);
  `);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '0');
});

test('without node-forge the gateway modules load and pki init explains what is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-noforge-'));
  try {
    const r = run(
      `
      await import('./src/gateway.ts');
      const { initDevPki } = await import('./src/pki/dev-pki.ts');
      try { initDevPki(${JSON.stringify(join(dir, 'keys'))}); console.log('created'); } catch (e) { console.log('error: ' + e.message); }
    `,
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^error: the development PKI needs the optional dependency node-forge, which is not installed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
