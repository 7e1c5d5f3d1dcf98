// Draining with pipelining clients (second re-review of 2026-12-02, src/http/listeners.ts). While draining, a request
// pipelined behind one still in progress is not processed: it is answered 2003/503 with `Connection: close`, after the
// answers before it. Only the answer to a connection's latest request says `Connection: close`. Before, a client that
// kept one more request pipelined behind each one in progress held its connection, and the drain, open until
// SHUTDOWN_TIMEOUT_MS, with new requests forwarded during the drain and some cut without an answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { fspiopHeaders, startTestGateway } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/wait.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

/** A raw mTLS connection of `dfsp-a` on which requests are pipelined, with everything it receives. */
async function pipelinedPeer(t: Gateway) {
  const c = t.cert('dfsp-a');
  const socket = connect({ port: t.gw.inbound.port, host: '127.0.0.1', ca: t.pki.ca.certPem, cert: c.certPem, key: c.keyPem, servername: 'localhost' });
  await new Promise<void>((r, j) => socket.once('secureConnect', r).once('error', j));
  socket.on('error', () => {});
  let received = '';
  let open = true;
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
  });
  const ended = new Promise<void>((r) =>
    socket.once('close', () => {
      open = false;
      r();
    }),
  );
  const request = () => {
    const h = { ...fspiopHeaders('quotes', 'dfsp-a'), host: 'localhost', 'content-length': '2' };
    return `POST /quotes HTTP/1.1\r\n${Object.entries(h)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n{}`;
  };
  return {
    socket,
    ended,
    open: () => open,
    received: () => received,
    /** Writes `n` requests in one go. */
    send: (n = 1) => socket.write(Array.from({ length: n }, request).join('')),
    answers: (status = '\\d{3}') => (received.match(new RegExp(`HTTP/1\\.1 ${status}`, 'g')) ?? []).length,
    closes: () => (received.match(/^connection: close/gim) ?? []).length,
  };
}

test('drain: a client pipelining without end neither holds the drain to SHUTDOWN_TIMEOUT_MS nor gets new requests forwarded', { timeout: 30_000 }, async () => {
  const t = await startTestGateway();
  try {
    t.stub.behave({ status: 202, body: 'ok', delayMs: 200 });
    const peer = await pipelinedPeer(t);
    // One more request every 50 ms while each takes 200 ms upstream: there is always another one in progress behind
    // the one being answered.
    peer.send();
    const pump = setInterval(() => {
      if (peer.open() && peer.socket.writable) peer.send();
    }, 50);
    await waitFor(() => t.stub.requests.length >= 2, { what: 'two requests to reach the upstream' });
    const atDrain = t.stub.requests.length;
    const started = performance.now();
    await t.gw.close(5000); // SHUTDOWN_TIMEOUT_MS 5 s
    const ms = performance.now() - started;
    const forwardedDuringDrain = t.stub.requests.length - atDrain;
    clearInterval(pump);
    await new Promise((r) => setTimeout(r, 300));
    peer.socket.destroy();
    assert.equal(t.stub.requests.length - peer.answers('202'), 0, 'every forwarded request got its answer');
    assert.match(peer.received(), /"errorCode":"2003"/, 'a request pipelined during the drain is answered 2003, not processed');
    assert.ok(
      ms < 2500 && forwardedDuringDrain <= 2,
      `the drain took ${Math.round(ms)} ms of its 5000 ms deadline; ${forwardedDuringDrain} requests that arrived after it began were forwarded`,
    );
  } finally {
    await t.stub.close();
    t.pki.cleanup();
  }
});

// node sets `res.socket` on a pipelined response only when its turn comes (ServerResponse.assignSocket): a check that
// read it took a response ready early for the last one and said `Connection: close` on it, and the requests pipelined
// behind it, already forwarded, lost their answers. The check reads the request's socket.
for (const n of [2, 3]) {
  test(`drain: ${n} pipelined requests forwarded before the drain all get their answers; only the last says Connection: close`, {
    timeout: 30_000,
  }, async () => {
    const t = await startTestGateway();
    try {
      t.stub.behave({ status: 202, body: 'late', delayMs: 1500 });
      const peer = await pipelinedPeer(t);
      peer.send(n);
      await waitFor(() => t.stub.requests.length === n, { what: `the ${n} requests to reach the upstream` });
      const closed = t.gw.close(8000);
      await Promise.race([peer.ended, new Promise((r) => setTimeout(r, 6000))]);
      await closed;
      assert.equal(t.stub.requests.length, n, `the upstream processed all ${n}`);
      assert.equal(peer.answers(), n, `${n} requests reached the upstream before the drain, the client got ${peer.answers()} answer(s)`);
      assert.equal(peer.closes(), 1, 'only the last answer closes the connection');
    } finally {
      await t.stub.close();
      t.pki.cleanup();
    }
  });
}
