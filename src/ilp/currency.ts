// Minor-unit exponents by ISO 4217 currency code: the table Mojaloop's SDK scales ILP amounts with
// (sdk-standard-components src/lib/ilp/currency.json). Currencies outside it cannot be carried in an ILP packet.

const BY_DECIMALS: Record<number, string> = {
  0: 'XOF BIF XAF CLP KMF DJF XPF GNF ISK JPY KRW PYG RWF UGX UYI VUV VND',
  2:
    'AFN EUR ALL DZD USD AOA XCD ARS AMD AWG AUD AZN BSD BDT BBD BYN BZD BMD INR BTN ' +
    'BOB BOV BAM BWP NOK BRL BND BGN CVE KHR CAD KYD CNY COP COU CDF NZD CRC HRK CUP ' +
    'CUC ANG CZK DKK DOP EGP SVC ERN ETB FKP FJD GMD GEL GHS GIP GTQ GBP GYD HTG HNL ' +
    'HKD HUF IDR IRR ILS JMD KZT KES KPW KGS LAK LBP LSL ZAR LRD CHF MOP MKD MGA MWK ' +
    'MYR MVR MRU MUR MXN MXV MDL MNT MAD MZN MMK NAD NPR NIO NGN PKR PAB PGK PEN PHP ' +
    'PLN QAR RON RUB SHP WST STN SAR RSD SCR SLL SGD SBD SOS SSP LKR SDG SRD SZL SEK ' +
    'CHE CHW SYP TWD TJS TZS THB TOP TTD TRY TMT UAH AED USN UYU UZS VES YER ZMW ZWL',
  3: 'BHD IQD JOD KWD LYD OMR TND',
  4: 'CLF UYW XXX XTS',
};

const DECIMALS: ReadonlyMap<string, number> = new Map(
  Object.entries(BY_DECIMALS).flatMap(([d, codes]) => codes.split(' ').map((c) => [c, Number(d)] as const)),
);

/** Minor-unit exponent of `currency`, or undefined when the SDK's table does not list it. */
export function currencyDecimals(currency: string): number | undefined {
  return DECIMALS.get(currency);
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * `amount × 10^decimals(currency)` as a plain decimal string, exactly as the SDK's
 * `MLNumber(amount).shiftedBy(d).toString()` renders it ("100.50" USD → "10050", "1.234" USD → "123.4").
 * The result may keep a fraction; v1 truncates it when serialising, v4 rejects it (ilp-packet-v1 and ilp-packet).
 * @throws TypeError for an unknown currency or an amount that is not a non-negative decimal.
 */
export function scaleAmount(amount: string, currency: string): string {
  const d = currencyDecimals(currency);
  if (d === undefined) throw new TypeError(`No decimal place data available for currency ${currency}`);
  const m = DECIMAL.exec(amount);
  if (!m) throw new TypeError('amount is not a decimal number');
  const frac = m[2] ?? '';
  const whole = (m[1]! + frac.padEnd(d, '0').slice(0, d)).replace(/^0+(?=\d)/, '');
  const rest = frac.slice(d).replace(/0+$/, '');
  return rest ? `${whole}.${rest}` : whole;
}

/** Canonical text of a decimal amount ("100.50" → "100.5", "007" → "7"), or undefined when not a decimal. */
export function normaliseAmount(amount: unknown): string | undefined {
  if (typeof amount !== 'string') return undefined;
  const m = DECIMAL.exec(amount);
  if (!m) return undefined;
  const whole = m[1]!.replace(/^0+(?=\d)/, '');
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}
