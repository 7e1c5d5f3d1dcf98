// switchguard_tls_handshakes_total{endpoint,group}: counted per handshake, the group label bounded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTelemetry } from '../../../src/metrics/registry.js';

test('handshakes are counted by endpoint and group; names outside the group table fold to other', async () => {
  const t = createTelemetry({ processMetrics: false });
  t.tlsHandshake({ endpoint: 'inbound', group: 'X25519MLKEM768' });
  t.tlsHandshake({ endpoint: 'inbound', group: 'X25519MLKEM768' });
  t.tlsHandshake({ endpoint: 'inbound', group: 'X25519' });
  t.tlsHandshake({ endpoint: 'outbound', group: 'P-256' });
  t.tlsHandshake({ endpoint: 'upstream', group: 'unknown' });
  t.tlsHandshake({ endpoint: 'upstream', group: 'none' });
  for (let i = 0; i < 100; i++) t.tlsHandshake({ endpoint: 'inbound', group: `made-up-${i}` });
  const lines = (await t.metricsText()).split('\n').filter((l) => l.startsWith('switchguard_tls_handshakes_total{'));
  assert.deepEqual(lines.sort(), [
    'switchguard_tls_handshakes_total{endpoint="inbound",group="X25519"} 1',
    'switchguard_tls_handshakes_total{endpoint="inbound",group="X25519MLKEM768"} 2',
    'switchguard_tls_handshakes_total{endpoint="inbound",group="other"} 100',
    'switchguard_tls_handshakes_total{endpoint="outbound",group="P-256"} 1',
    'switchguard_tls_handshakes_total{endpoint="upstream",group="none"} 1',
    'switchguard_tls_handshakes_total{endpoint="upstream",group="unknown"} 1',
  ]);
});
