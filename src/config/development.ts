// What only the development profile may use (docs/security.md class 7).

/**
 * The public development ILP secret (it is in the source, so anyone can mint conditions with it). Only a
 * keyring built for the development profile accepts it.
 */
export const DEV_ILP_SECRET = 'switchguard-development-ilp-secret-NOT-FOR-PRODUCTION';
