import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayError } from '../../../src/errors.js';
import { matchRoute, RESOURCES } from '../../../src/fspiop/routes.js';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as GatewayError).code;
  }
  return 'matched';
};

test('every FSPIOP 1.1/2.0 resource is known', () => {
  assert.deepEqual(
    [...RESOURCES].sort(),
    [
      'authorizations',
      'bulkQuotes',
      'bulkTransfers',
      'fxQuotes',
      'fxTransfers',
      'participants',
      'parties',
      'quotes',
      'services',
      'transactionRequests',
      'transactions',
      'transfers',
    ].sort(),
  );
});

test('requests, callbacks and error callbacks resolve with their kind and params', () => {
  const cases: [string, string, string, string, string[]][] = [
    ['POST', '/transfers', 'POST /transfers', 'request', []],
    ['PUT', '/transfers/abc', 'PUT /transfers/{ID}', 'callback', ['abc']],
    ['PUT', '/transfers/abc/error', 'PUT /transfers/{ID}/error', 'error', ['abc']],
    ['PATCH', '/fxTransfers/abc', 'PATCH /fxTransfers/{ID}', 'request', ['abc']],
    ['PUT', '/fxQuotes/q1/error', 'PUT /fxQuotes/{ID}/error', 'error', ['q1']],
    ['GET', '/parties/MSISDN/123/sub', 'GET /parties/{Type}/{ID}/{SubId}', 'request', ['MSISDN', '123', 'sub']],
    ['PUT', '/parties/MSISDN/123/error', 'PUT /parties/{Type}/{ID}/error', 'error', ['MSISDN', '123']],
    ['PUT', '/participants/req-1/error', 'PUT /participants/{ID}/error', 'error', ['req-1']],
    ['GET', '/services/FXP/USD/ZMW', 'GET /services/FXP/{SourceCurrency}/{TargetCurrency}', 'request', ['USD', 'ZMW']],
    ['GET', '/authorizations/t1', 'GET /authorizations/{ID}', 'request', ['t1']],
  ];
  for (const [m, p, template, kind, params] of cases) {
    const r = matchRoute(m, `${p}?x=1`);
    assert.equal(r.template, template, p);
    assert.equal(r.kind, kind, p);
    assert.deepEqual(r.params, params, p);
    assert.equal(r.query, '?x=1');
  }
});

test('unknown paths → 3002, wrong methods → 3000/405 with Allow', () => {
  for (const p of ['/', '/nope', '/transfers/a/b/c', '/transfers/', '//transfers', 'transfers', '/transfers/a/error/x'])
    assert.equal(
      code(() => matchRoute('GET', p)),
      'GW_ROUTE_UNKNOWN',
      p,
    );
  try {
    matchRoute('DELETE', '/transfers/x');
    assert.fail();
  } catch (e) {
    assert.equal((e as GatewayError).code, 'GW_METHOD_NOT_ALLOWED');
    assert.equal((e as GatewayError).httpStatus, 405);
    assert.equal((e as GatewayError).headers?.allow, 'GET, PATCH, PUT');
  }
});
