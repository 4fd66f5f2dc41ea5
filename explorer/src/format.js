// Display helpers: quantities, CMT amounts, times, short hashes.

/** A 0x quantity (or number) as a BigInt. */
export const big = (quantity) => BigInt(quantity ?? 0);

/** A 0x quantity as a JavaScript number (block numbers, counts). */
export const num = (quantity) => Number(BigInt(quantity ?? 0));

const WEI = 10n ** 18n;

/** An amount of wei as CMT with up to ``decimals`` decimals and thousands separators. */
export function cmt(wei, decimals = 4) {
  const value = big(wei);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = (abs / WEI).toLocaleString('en-US');
  const scale = 10n ** BigInt(18 - decimals);
  const fraction = ((abs % WEI) / scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? '.' + fraction : ''} CMT`;
}

/** A Unix time (seconds) as an ISO date and time (UTC). */
export const time = (seconds) => new Date(num(seconds) * 1000).toISOString().replace('T', ' ').replace('.000Z', ' UTC');

/** A hash or address shortened for tables: 0x1234…abcd. */
export const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex);

/** Basis points as a percentage. */
export const percent = (bp) => `${(num(bp) / 100).toFixed(2)} %`;
