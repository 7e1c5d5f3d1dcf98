// Known answers: both vector files reproduced byte for byte from input + secret (test/vectors/).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { hmacKeyOf, validateFulfilment } from '../../../src/ilp/crypto.js';
import { createKeyring } from '../../../src/ilp/keyring.js';
import { buildIlp, decodePacket, fulfilmentMessage, v4Message } from '../../../src/ilp/packet.js';
import { encodeTransaction, fxTransactionObjectOf, transactionObjectOf } from '../../../src/ilp/transaction.js';

const load = (f: string) => JSON.parse(readFileSync(new URL(`../../vectors/${f}`, import.meta.url), 'utf8'));
const v1 = load('ilp-v1-vectors.json');
const v4 = load('ilp-v4-vectors.json');

describe('ILP v1 vector', () => {
  const ring = createKeyring([v1.ilpSecret]);
  const tx = transactionObjectOf(v1.input.quoteRequest, v1.input.quoteResponse);

  test('HMAC key text, transaction object, JSON and data text match', () => {
    assert.equal(hmacKeyOf(v1.ilpSecret).toString('ascii'), v1.hmacKeyAscii);
    assert.deepEqual(tx, v1.transactionObject);
    const { json, dataText } = encodeTransaction(tx);
    assert.equal(json, v1.transactionObjectJson);
    assert.equal(dataText, v1.dataFieldAscii);
  });

  test('packet, fulfilment and condition match byte for byte', () => {
    const r = buildIlp('1', tx, ring);
    assert.equal(r.ilpPacket, v1.packet.base64url);
    assert.equal(Buffer.from(r.ilpPacket, 'base64url').toString('hex'), v1.packet.hex);
    assert.equal(Buffer.from(r.ilpPacket, 'base64url').length, v1.packet.lengthBytes);
    assert.equal(r.fulfilment, v1.fulfilment);
    assert.equal(Buffer.from(r.fulfilment, 'base64url').toString('hex'), v1.fulfilmentHex);
    assert.equal(r.condition, v1.condition);
    assert.equal(validateFulfilment(r.fulfilment, r.condition), true);
  });

  test('decoding gives back amount, account and the transaction object', () => {
    const d = decodePacket(v1.packet.base64url, '1');
    assert.equal(d.amount, v1.packet.decoded.amount);
    assert.equal(d.address, v1.packet.decoded.account);
    assert.equal(Buffer.from(d.json).toString('base64url').length, v1.packet.decoded.dataLength);
    assert.deepEqual(d.transaction, v1.transactionObject);
    assert.equal(ring.find(fulfilmentMessage(v1.packet.base64url, d), Buffer.from(v1.condition, 'base64url'))?.toString('base64url'), v1.fulfilment);
  });

  test('the 19.18.8 packet still validates through its own packet text', () => {
    const d = decodePacket(v1.previousSdkRelease.ilpPacket, '1');
    assert.equal(d.json, v1.previousSdkRelease.dataJson);
    const f = ring.find(fulfilmentMessage(v1.previousSdkRelease.ilpPacket, d), Buffer.from(v1.previousSdkRelease.condition, 'base64url'));
    assert.equal(f?.toString('base64url'), v1.previousSdkRelease.fulfilment);
  });
});

describe('ILP v4 vector', () => {
  const ring = createKeyring([v4.ilpSecret]);
  const tx = transactionObjectOf(v4.input.quoteRequest, v4.input.quoteResponse);

  test('HMAC message text is the padded standard base64 of the JSON', () => {
    const { json, dataText } = encodeTransaction(tx);
    assert.equal(json, v4.transactionObjectJson);
    assert.equal(dataText, v4.dataFieldAscii);
    assert.equal(v4Message(json), v4.hmacMessageAscii);
  });

  test('packet, fulfilment and condition match byte for byte', () => {
    const r = buildIlp('4', tx, ring);
    assert.equal(r.ilpPacket, v4.packet.base64url);
    assert.equal(Buffer.from(r.ilpPacket, 'base64url').toString('hex'), v4.packet.hex);
    assert.equal(r.fulfilment, v4.fulfilment);
    assert.equal(Buffer.from(r.fulfilment, 'base64url').toString('hex'), v4.fulfilmentHex);
    assert.equal(r.condition, v4.condition);
    assert.equal(createHash('sha256').update(Buffer.from(v4.fulfilmentHex, 'hex')).digest('hex'), v4.conditionHex);
  });

  test('decoding gives amount, destination, expiresAt, condition and the object', () => {
    const d = decodePacket(v4.packet.base64url, '4');
    assert.equal(d.amount, v4.packet.decoded.amount);
    assert.equal(d.address, v4.packet.decoded.destination);
    assert.equal(d.expiresAt?.toISOString(), v4.packet.decoded.expiresAt);
    assert.equal(d.condition?.toString('hex'), v4.packet.decoded.executionConditionHex);
    assert.deepEqual(d.transaction, v4.transactionObject);
  });

  test('FX packet (amount 0, conversionTerms expiry) matches', () => {
    const fxTx = fxTransactionObjectOf(v4.fx.fxQuoteRequest, v4.fx.fxBackendResponse);
    assert.equal(encodeTransaction(fxTx).json, v4.fx.transactionObjectJson);
    const r = buildIlp('4', fxTx, ring);
    assert.equal(r.ilpPacket, v4.fx.ilpPacket);
    assert.equal(r.fulfilment, v4.fx.fulfilment);
    assert.equal(r.condition, v4.fx.condition);
    const d = decodePacket(r.ilpPacket);
    assert.equal(d.amount, v4.fx.decoded.amount);
    assert.equal(d.expiresAt?.toISOString(), v4.fx.decoded.expiresAt);
  });

  test('a 19.18.8 v4 packet validates over its data JSON as found (where the SDK recomputation fails)', () => {
    const d = decodePacket(v4.previousSdkRelease.ilpPacket, '4');
    assert.equal(d.json, v4.previousSdkRelease.dataJson);
    const f = ring.find(fulfilmentMessage(v4.previousSdkRelease.ilpPacket, d), Buffer.from(v4.previousSdkRelease.condition, 'base64url'));
    assert.equal(f?.toString('base64url'), v4.previousSdkRelease.fulfilment);
    assert.notEqual(v4.previousSdkRelease.newSdkCalculateFulfilOnOldPacket, v4.previousSdkRelease.fulfilment);
  });

  test('a v1 packet is refused where v4 is expected, and the reverse', () => {
    assert.throws(() => decodePacket(v1.packet.base64url, '4'), { code: 'GW_ILP_PACKET_MALFORMED' });
    assert.throws(() => decodePacket(v4.packet.base64url, '1'), { code: 'GW_ILP_PACKET_MALFORMED' });
  });
});

describe('strict 43-character decoding', () => {
  test('every canonical last character is accepted and round-trips; every other one is refused', async () => {
    const { decode32 } = await import('../../../src/ilp/crypto.js');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const base = v1.condition.slice(0, 42);
    for (let i = 0; i < 64; i++) {
      const text = base + alphabet[i];
      const b = decode32(text);
      if (i % 4 === 0) assert.equal(b?.toString('base64url'), text);
      else assert.equal(b, undefined, text);
    }
  });
});
