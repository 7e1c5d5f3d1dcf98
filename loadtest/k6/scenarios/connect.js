// The connection phase (CONNECT_SECONDS, lib/scale.js withConnectPhase): each VU sends one GET / so that
// its TLS connection, with this DFSP's client certificate, is open before the measured scenarios start.
// The gateway answers 404 (3002: not an FSPIOP resource) without reading a body, touching the store or
// forwarding anything; any HTTP answer will do, only a transport error counts as failed.
import http from 'k6/http';
import { BASE_URL } from '../lib/tls.js';

const ANY_ANSWER = http.expectedStatuses({ min: 100, max: 599 });

export function connect() {
  http.get(`${BASE_URL}/`, { tags: { name: 'connect' }, responseCallback: ANY_ANSWER });
}
