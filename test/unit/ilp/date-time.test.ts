// parseDateTime (src/ilp/checks.ts): the expirations every ILP check reads. A zone is required and the calendar
// date must exist; Date.parse alone reads a zone-less date in the process's own zone and rolls 31 February over
// to March (review finding of 2026-12-01). Known answers, and a property against Date.UTC.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseDateTime } from '../../../src/ilp/checks.js';

test('accepted: FSPIOP DateTime forms with a zone, with or without fractions of a second', () => {
  const cases: [string, number][] = [
    ['2016-05-24T08:38:08.699-04:00', Date.UTC(2016, 4, 24, 12, 38, 8, 699)],
    ['2016-05-24T08:38:08.699Z', Date.UTC(2016, 4, 24, 8, 38, 8, 699)],
    ['2030-01-01T00:00:30Z', Date.UTC(2030, 0, 1, 0, 0, 30)],
    ['2024-02-29T23:59:59.000+05:30', Date.UTC(2024, 1, 29, 18, 29, 59)],
    ['2000-02-29T00:00:00.000Z', Date.UTC(2000, 1, 29)],
  ];
  for (const [text, ms] of cases) assert.equal(parseDateTime(text), ms, text);
});

test('refused: no zone, impossible dates and times, other forms, other types', () => {
  for (const v of [
    '2030-01-01T00:00:30',
    '2030-01-01T00:00:30.000',
    '2030-02-31T00:00:00.000Z',
    '2023-02-29T00:00:00.000Z',
    '1900-02-29T00:00:00.000Z',
    '2030-13-01T00:00:00.000Z',
    '2030-00-10T00:00:00.000Z',
    '2030-04-31T00:00:00.000Z',
    '2030-01-01T24:00:00.000Z',
    '2030-01-01T23:60:00.000Z',
    '2030-01-01T23:59:60.000Z',
    '2030-01-01T00:00:00.000+24:00',
    '2030-01-01T00:00:00.000+0100',
    '2030-01-01 00:00:00Z',
    '2030-01-01T00:00:00.000Zjunk',
    ' 2030-01-01T00:00:00.000Z',
    'Tue, 01 Jan 2030 00:00:00 GMT',
    '1893456000000',
    '',
    1893456000000,
    null,
    undefined,
  ])
    assert.equal(parseDateTime(v), undefined, String(v));
});

test('property: every valid UTC date and time is read as Date.UTC reads it', () => {
  fc.assert(
    fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
      assert.equal(parseDateTime(d.toISOString()), d.getTime());
    }),
  );
});
