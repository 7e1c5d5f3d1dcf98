// Mojaloop's ILP writers as installed (devDependencies), for interop tests: sdk-standard-components 17.4.0 (the copy
// nested in @mojaloop/sdk-scheme-adapter 18.0.2, required by its path inside node_modules), 19.18.8 (`sdk-19188`)
// and 19.19.1, plus the releases between them that scaled amounts as 17.4 does (see SDK_ILP_WRITERS).
import { createRequire } from 'node:module';
import type { IlpVersion } from '../../src/ilp/keyring.js';

/**
 * The logger every SDK generation accepts: 17.4 calls `isDebugEnabled()`, 19.x tests `isDebugEnabled` and calls
 * `child()`; nothing is ever written.
 */
const sdkLogger = {
  isDebugEnabled: (): boolean => false,
  child(): unknown {
    return sdkLogger;
  },
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export interface SdkIlpResult {
  readonly fulfilment: string;
  readonly condition: string;
  readonly ilpPacket: string;
}
/** The part of the SDK's Ilp class the tests use (17.4 src/lib/ilp/index.js; 19.x src/lib/ilp/IlpBase.js). */
export interface SdkIlp {
  getQuoteResponseIlp(quoteRequest: object, quoteResponse: object): SdkIlpResult;
}
type Scale = (amount: { amount: string; currency: string }) => string;

const require = createRequire(import.meta.url);
// The nested copy, by its path inside node_modules (the top-level @mojaloop/sdk-standard-components is 19.19.1).
const Ilp17 = require('@mojaloop/sdk-scheme-adapter/node_modules/@mojaloop/sdk-standard-components/src/lib/ilp/index.js') as {
  new (c: { secret: string; logger: unknown }): SdkIlp;
  prototype: { _getIlpCurrencyAmount: Scale };
};
type IlpFactory = (version: 'v1' | 'v4', o: { secret: string; logger: unknown }) => SdkIlp;
const factory1919 = (require('@mojaloop/sdk-standard-components/src/lib/ilp/index.js') as { ilpFactory: IlpFactory }).ilpFactory;
const factory19188 = (require('sdk-19188/src/lib/ilp/index.js') as { ilpFactory: IlpFactory }).ilpFactory;
/** The class whose `_getIlpCurrencyAmount` IlpV1 and IlpV4 call through `super` (the module instance they load). */
const IlpBase1919 = require('@mojaloop/sdk-standard-components/src/lib/ilp/IlpBase.js') as { prototype: { _getIlpCurrencyAmount: Scale } };

/**
 * sdk-standard-components ≤ 19.16.8 scaled with `${Number(amount) * Math.pow(10, decimals)}` (17.4 index.js; 19.x
 * IlpBase.js until commit f659fda "fix: decimal calc"), with XXX and XTS at 0 decimals before 19.4.0 and at 4 from
 * it on (commit 2bb792f). Those 19.x releases are not installed: a 19.19.1 instance stands for them, with 17.4's
 * own `_getIlpCurrencyAmount` in place of IlpBase's for the duration of the call (IlpV1/IlpV4 reach it through
 * `super`, so it is swapped on the prototype and restored at once; the tests are synchronous); for 19.4.0–19.16.8
 * XXX and XTS are scaled as CLF (4 decimals in every table).
 */
function withNumberScaling(ilp: SdkIlp, testCurrenciesAt4: boolean): SdkIlp {
  const scale: Scale = (m) =>
    Ilp17.prototype._getIlpCurrencyAmount(testCurrenciesAt4 && (m.currency === 'XXX' || m.currency === 'XTS') ? { ...m, currency: 'CLF' } : m);
  return {
    getQuoteResponseIlp(quoteRequest, quoteResponse) {
      const base = IlpBase1919.prototype;
      const own = base._getIlpCurrencyAmount;
      base._getIlpCurrencyAmount = scale;
      try {
        return ilp.getQuoteResponseIlp(quoteRequest, quoteResponse);
      } finally {
        base._getIlpCurrencyAmount = own;
      }
    },
  };
}

export interface SdkIlpWriter {
  /** The release (or range of releases) whose ILP code writes the packet. */
  readonly release: string;
  readonly version: IlpVersion;
  /** True when a newer release's class stands for it with the old amount scaling (withNumberScaling). */
  readonly emulated: boolean;
  /** Whether its transaction object carries the quote `expiration` (19.x: dto.transactionObjectDto; 17.x does not). */
  readonly quoteExpiry: boolean;
  readonly make: (secret: string) => SdkIlp;
}

/** The installed versions of the three packages, as their package.json says (tests check they are the ones named). */
export const INSTALLED_SDK_VERSIONS: readonly [string, string][] = [
  ['17.4.0', (require('@mojaloop/sdk-scheme-adapter/node_modules/@mojaloop/sdk-standard-components/package.json') as { version: string }).version],
  ['19.19.1', (require('@mojaloop/sdk-standard-components/package.json') as { version: string }).version],
  ['19.18.8', (require('sdk-19188/package.json') as { version: string }).version],
];

/**
 * Every generation in the field, each ILP version it writes: 17.x writes v1 only (v4 came with 19.0.0); 19.0.0–19.3.x
 * write v1 exactly as 17.4 does (same scaling, same table, ilp-packet-v1 2.2.0 = ilp-packet 2.2.0).
 */
export const SDK_ILP_WRITERS: readonly SdkIlpWriter[] = [
  { release: '17.4.0', version: '1', emulated: false, quoteExpiry: false, make: (secret) => new Ilp17({ secret, logger: sdkLogger }) },
  { release: '19.19.1', version: '1', emulated: false, quoteExpiry: true, make: (secret) => factory1919('v1', { secret, logger: sdkLogger }) },
  { release: '19.19.1', version: '4', emulated: false, quoteExpiry: true, make: (secret) => factory1919('v4', { secret, logger: sdkLogger }) },
  { release: '19.18.8', version: '1', emulated: false, quoteExpiry: true, make: (secret) => factory19188('v1', { secret, logger: sdkLogger }) },
  { release: '19.18.8', version: '4', emulated: false, quoteExpiry: true, make: (secret) => factory19188('v4', { secret, logger: sdkLogger }) },
  {
    release: '19.0.0–19.3.x',
    version: '4',
    emulated: true,
    quoteExpiry: true,
    make: (secret) => withNumberScaling(factory1919('v4', { secret, logger: sdkLogger }), false),
  },
  {
    release: '19.4.0–19.16.8',
    version: '1',
    emulated: true,
    quoteExpiry: true,
    make: (secret) => withNumberScaling(factory1919('v1', { secret, logger: sdkLogger }), true),
  },
  {
    release: '19.4.0–19.16.8',
    version: '4',
    emulated: true,
    quoteExpiry: true,
    make: (secret) => withNumberScaling(factory1919('v4', { secret, logger: sdkLogger }), true),
  },
];
