// `switchguard pki init --fsp`: an FSP id names files, so one that is not an FspId without dots is refused before
// anything is written ('../../x' wrote outside --dir: review of 2026-12-01).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 60_000 });

test('pki init refuses an --fsp id that is no FspId or holds a dot, and writes nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'sg-pki-init-'));
  try {
    const dir = join(root, 'a', 'keys');
    for (const id of ['../../evil', 'a.b', 'x/y', '']) {
      const r = cli('pki', 'init', '--dir', dir, '--fsp', 'payerfsp', '--fsp', id);
      assert.equal(r.status, 2, `${id}: ${r.stderr}`);
      assert.match(r.stderr, /invalid FSP id/);
    }
    assert.equal(existsSync(dir), false, 'nothing written');
    assert.deepEqual(readdirSync(root), []);
    assert.equal(existsSync(join(root, 'evil.pem')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
