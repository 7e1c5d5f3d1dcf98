// The one client certificate of this process's DFSP (see env.js for why a process has exactly one).
import { ENV } from './env.js';

const HOST = ENV.SERVER_NAME || ENV.TARGET_HOST;
const HOST_IN_URL = HOST.indexOf(':') >= 0 ? `[${HOST}]` : HOST;

/** The gateway's base URL; every request of this process goes there with FSP_ID's certificate. */
export const BASE_URL = `https://${HOST_IN_URL}:${ENV.TARGET_PORT}`;

/** The `tlsAuth`, `hosts` and TLS options; called from the init context (open() is init-only). */
export function tlsOptions() {
  /** @type {{ [name: string]: string }} */
  const hosts = {};
  if (ENV.SERVER_NAME) hosts[ENV.SERVER_NAME] = ENV.TARGET_HOST;
  return {
    tlsAuth: [{ cert: open(ENV.CERT_FILE), key: open(ENV.KEY_FILE) }],
    hosts,
    insecureSkipTLSVerify: ENV.INSECURE_SKIP_TLS_VERIFY,
    tlsVersion: { min: 'tls1.2', max: 'tls1.3' },
  };
}
