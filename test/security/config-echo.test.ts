// Start-up configuration errors go to stderr (container logs, log shipping), and never echo a URL's credentials
// (src/util/redact.ts). A quoted value (docker run --env-file keeps the quotes), a '?' or '#' in the password, and
// INBOUND_UPSTREAM_ROUTES's URLs were echoed with their password (hostile review of 2026-12-02).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskCredentials } from '../../src/util/redact.js';
import { configProblems, PROD_ENV } from '../helpers/config.js';

const problems = (env: Record<string, string>) => configProblems({ ...PROD_ENV, ...env });

test('REDIS_URL written with quotes (docker run --env-file keeps them) is refused without echoing the password', () => {
  // my.env: REDIS_URL="redis://:S3cretRedisPw@redis:6379/0" — `docker run --env-file` (README "Docker") passes the
  // quotes through as part of the value.
  for (const value of ['"redis://:S3cretRedisPw@redis:6379/0"', "'redis://gw:S3cretRedisPw@redis:6379/0'"]) {
    const p = problems({ REDIS_URL: value });
    assert.ok(
      p.some((l) => l.startsWith('REDIS_URL:')),
      'refused',
    );
    assert.equal(p.join(' / ').includes('S3cretRedisPw'), false, `password echoed: ${p.join(' / ')}`);
  }
});

test('a URL whose password holds ? or # (unencoded) is refused without echoing the password', () => {
  for (const value of ['valkey://:Pw?S3cretRedisPw@redis:6379', 'Redis://:Pw#S3cretRedisPw@redis:6379']) {
    const p = problems({ REDIS_URL: value });
    assert.ok(p.some((l) => l.startsWith('REDIS_URL:')));
    assert.equal(p.join(' / ').includes('S3cretRedisPw'), false, `password echoed: ${p.join(' / ')}`);
  }
});

test('INBOUND_UPSTREAM_ROUTES with credentials in a URL is refused without echoing them', () => {
  const p = problems({ INBOUND_UPSTREAM_ROUTES: 'parties|participants=http://als:UpstreamS3cret@account-lookup:4002' });
  assert.ok(p.some((l) => l.startsWith('INBOUND_UPSTREAM_ROUTES:') && l.includes('credentials')));
  assert.equal(p.join(' / ').includes('UpstreamS3cret'), false, `password echoed: ${p.join(' / ')}`);
});

test('maskCredentials: nothing before the last @ of a URL is shown, whatever the spelling', () => {
  const cases: [string, string][] = [
    ['redis://:pw@redis:6379/0', 'redis://***@redis:6379/0'],
    ['"redis://:pw@redis:6379/0"', '"redis://***@redis:6379/0"'],
    ['valkey://:p?w#x@h', 'valkey://***@h'],
    ['redis:u:pw@h', '***@h'],
    ['a=http://u:p@h,b=http://v:q@k', 'a=http://***@k'],
    ['http://host:4002', 'http://host:4002'],
  ];
  for (const [input, shown] of cases) assert.equal(maskCredentials(input), shown, input);
});
