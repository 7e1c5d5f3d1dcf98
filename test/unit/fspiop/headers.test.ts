import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayError } from '../../../src/errors.js';
import { checkAccept, checkContentType, parseHttpDate } from '../../../src/fspiop/headers.js';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return `${(e as GatewayError).fspiopCode}/${(e as GatewayError).httpStatus}`;
  }
  return 'ok';
};

test('RFC 1123 dates: valid, wrong format, wrong weekday', () => {
  assert.equal(parseHttpDate('Mon, 01 Jan 2029 10:00:00 GMT'), Date.UTC(2029, 0, 1, 10));
  for (const bad of [
    'Tue, 01 Jan 2029 10:00:00 GMT',
    'Mon, 1 Jan 2029 10:00:00 GMT',
    'Mon, 01 Jan 2029 10:00:00 UTC',
    '2029-01-01T10:00:00Z',
    'Mon, 32 Jan 2029 10:00:00 GMT',
    '',
  ]) {
    assert.equal(parseHttpDate(bad), undefined, bad);
  }
});

test('Content-Type grammar and versions (fspiop.md §4.2)', () => {
  const ct = (v: string | undefined, body = true) => code(() => checkContentType(v, 'quotes', body));
  assert.equal(ct('application/vnd.interoperability.quotes+json;version=1.1'), 'ok');
  assert.equal(ct('application/vnd.interoperability.quotes+json ; version=2.0'), 'ok');
  assert.equal(ct('application/vnd.interoperability.iso20022.quotes+json;version=2.0'), 'ok');
  assert.equal(ct(undefined), '3102/400');
  assert.equal(ct(undefined, false), 'ok');
  assert.equal(ct('application/vnd.interoperability.quotes+json;version=1'), '3101/400', 'major.minor required');
  assert.equal(ct('application/vnd.interoperability.quotes+json;  version=1.1'), '3101/400');
  assert.equal(ct('application/vnd.interoperability.parties+json;version=1.1'), '3101/400');
  assert.equal(ct('application/vnd.interoperability.quotes+json;version=1.2'), '3001/406');
});

test('Accept lists: any supported item is enough; malformed items are 3101', () => {
  const acc = (v: string | undefined, m = 'POST') => code(() => checkAccept(m, v, 'transfers'));
  assert.equal(acc('application/vnd.interoperability.transfers+json;version=1'), 'ok');
  assert.equal(acc('application/vnd.interoperability.transfers+json'), 'ok');
  assert.equal(acc('application/vnd.interoperability.transfers+json;version=3,application/vnd.interoperability.transfers+json;version=2.0'), 'ok');
  assert.equal(acc('application/vnd.interoperability.transfers+json;version=3'), '3001/406');
  assert.equal(acc('application/vnd.interoperability.transfers+json;version=1, application/vnd.interoperability.transfers+json;version=2'), '3101/400');
  assert.equal(acc(undefined), '3102/400');
  assert.equal(acc(undefined, 'PUT'), 'ok');
});
