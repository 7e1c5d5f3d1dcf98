// One client certificate per simulated DFSP. k6 picks a tlsAuth certificate by host name, so each DFSP
// talks to the gateway through its own alias <fspId>.<HOST_SUFFIX>, all mapped to the same address.
import { ENV } from './env.js';

/** @param {string} fsp */
function fspHost(fsp) {
  return `${fsp}.${ENV.HOST_SUFFIX}`;
}

/** @param {string} fsp */
export function fspBaseUrl(fsp) {
  return `https://${fspHost(fsp)}:${ENV.TARGET_PORT}`;
}

/** The `tlsAuth`, `hosts` and TLS options; called from the init context (open() is init-only). */
export function tlsOptions() {
  /** @type {import('k6/options').Certificate[]} */
  const tlsAuth = [];
  /** @type {{ [name: string]: string }} */
  const hosts = {};
  for (const fsp of ENV.FSPS) {
    tlsAuth.push({
      domains: [fspHost(fsp)],
      cert: open(`${ENV.KEYS_DIR}/clients/${fsp}.pem`),
      key: open(`${ENV.KEYS_DIR}/clients/${fsp}.key`),
    });
    hosts[fspHost(fsp)] = ENV.TARGET_HOST;
  }
  return {
    tlsAuth,
    hosts,
    insecureSkipTLSVerify: ENV.INSECURE_SKIP_TLS_VERIFY,
    tlsVersion: { min: 'tls1.2', max: 'tls1.3' },
  };
}
