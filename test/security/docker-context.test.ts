// The build context and the image hold no operator secret (hostile review of 2026-12-02). The runtime stage copied the
// whole `config/` directory, and .dockerignore's `*.env` did not cover config/: Docker matches .dockerignore patterns
// against the path from the context root with Go's filepath.Match (moby/patternmatcher), where `*` never crosses '/',
// and a pattern only excludes a deeper file through one of its parent directories. So an operator's
// config/production.env (copied from config/example.env and filled in) was baked into the image. Now secret files are
// excluded at any depth (`**/*.env`, `**/*.key`, `**/*.pem`, …) and config/ is not copied.
//
// No container engine runs here, so this test applies Docker's rules (moby/patternmatcher: Clean the pattern, `**`
// any number of segments, `*` and `?` within one segment, a pattern also matching any parent directory of the path,
// the last matching pattern deciding, `!` re-including) to the repository's .dockerignore and Dockerfile.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url);

/** moby/patternmatcher's regexp for one pattern (the subset .dockerignore here uses: *, ?, **, literals). */
function patternRe(pattern: string): RegExp {
  let re = '^';
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        // `**` is any number of path segments; `**/` may match none.
        i++;
        if (p[i + 1] === '/') {
          i++;
          re += '(.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

/** Whether Docker leaves `path` (relative to the context root) out of the build context. */
function ignored(path: string, lines: readonly string[]): boolean {
  const parents = path.split('/').map((_, i, a) => a.slice(0, i + 1).join('/'));
  let out = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const re = patternRe(negate ? line.slice(1).trim() : line);
    if (parents.some((p) => re.test(p))) out = !negate;
  }
  return out;
}

test('docker context: the matcher follows Docker on the known cases', () => {
  const lines = ['keys', '*.env', '!config/example.env'];
  assert.equal(ignored('keys/tls/ca.key', lines), true, 'a directory pattern excludes what is under it');
  assert.equal(ignored('my.env', lines), true, 'a root-level .env file is excluded');
  assert.equal(ignored('.env', lines), true);
  assert.equal(ignored('config/example.env', lines), false);
});

test('docker context: secret files at any depth never reach the builder, and the image copies no configuration directory', () => {
  const lines = readFileSync(new URL('.dockerignore', root), 'utf8').split('\n');
  for (const f of ['config/production.env', 'config/.env', 'bin/local.env', 'my.env', 'secrets/tls/server.key', 'secrets/jws/hub.pem', 'src/x.p12']) {
    assert.equal(ignored(f, lines), true, `${f} (an operator's secret) is sent to the builder and may be baked into the image`);
  }
  const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
  const finalStage = dockerfile.split(/^FROM /m).at(-1)!;
  // Sources the final stage COPYs from the build context (not --from another stage).
  const copied = [...finalStage.matchAll(/^COPY\s+(?!.*--from=)(?:--\S+\s+)*(.+)\s+\S+\s*$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
  assert.deepEqual(copied.sort(), ['bin', 'package.json'], 'only the launcher and the manifest come from the context');
});
