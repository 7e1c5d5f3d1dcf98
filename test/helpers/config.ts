// Configuration tests' shared pieces: the smallest production environment that loads, and the problems
// loadConfig reports for an environment (none when it loads).
import { type ConfigError, loadConfig } from '../../src/config/load.js';

/** Every setting production requires, with placeholder paths (loadConfig checks values, not files). */
export const PROD_ENV: Readonly<Record<string, string>> = Object.freeze({
  SWITCHGUARD_PROFILE: 'production',
  IN_SERVER_CERT_PATH: 's.pem',
  IN_SERVER_KEY_PATH: 's.key',
  IN_CA_CERT_PATH: 'ca.pem',
  INBOUND_UPSTREAM_URL: 'http://127.0.0.1:3000',
  JWS_VERIFICATION_KEYS_DIRECTORY: 'k',
  JWS_SIGNING_KEY_PATH: 'sign.key',
  ILP_SECRET: 'x'.repeat(32),
});

/** The problems of `env` (ConfigError.problems), or [] when it loads. */
export function configProblems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env, { cwd: '/tmp' });
    return [];
  } catch (e) {
    return (e as ConfigError).problems;
  }
}
