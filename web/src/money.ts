// Money arrives as integer minor units with an ISO currency; it is shown with
// the currency's own number of decimals, without float arithmetic.
import type { Money } from "./gen/shop/catalog/v1/catalog_pb";

const digitsCache = new Map<string, number>();

export function currencyDigits(currency: string): number {
  let d = digitsCache.get(currency);
  if (d === undefined) {
    try {
      d = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      d = 2;
    }
    digitsCache.set(currency, d);
  }
  return d;
}

/** The amount as a decimal string, e.g. 199999n USD -> "1999.99". */
export function decimalString(amountMinor: bigint, currency: string): string {
  const digits = currencyDigits(currency);
  const negative = amountMinor < 0n;
  const abs = (negative ? -amountMinor : amountMinor).toString().padStart(digits + 1, "0");
  const major = abs.slice(0, abs.length - digits) || "0";
  const minor = digits > 0 ? "." + abs.slice(abs.length - digits) : "";
  return (negative ? "-" : "") + major + minor;
}

export function formatMoney(m: Money | undefined, locale?: string): string {
  if (!m || !m.currency) return "";
  const nf = new Intl.NumberFormat(locale, { style: "currency", currency: m.currency });
  // Intl formats decimal strings exactly (no conversion to a float).
  return nf.format(decimalString(m.amountMinor, m.currency) as unknown as number);
}
