// Money arrives as integer minor units with an ISO currency; it is shown with
// the currency's own number of decimals, without float arithmetic.
import { create } from "@bufbuild/protobuf";
import { MoneySchema, type Money } from "./gen/shop/catalog/v1/catalog_pb";

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

/** Minor units of a currency as display text. */
export function formatMinor(amountMinor: bigint, currency: string, locale?: string): string {
  return formatMoney(create(MoneySchema, { amountMinor, currency }), locale);
}

/** A decimal amount for an input ("1999.99", "20"): the decimal string without an all-zero fraction. */
export function inputString(amountMinor: bigint, currency: string): string {
  return decimalString(amountMinor, currency).replace(/\.0+$/, "");
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Parses a decimal amount as typed ("12", "12.5", "1999.99") into integer
 * minor units of a currency with `digits` decimals, with string and bigint
 * arithmetic only (no floats, so "0.29" is exactly 29). Refuses signs,
 * exponents, thousands separators and more decimals than the currency has.
 */
export function parseMinorUnits(input: string, digits: number): Parsed<bigint> {
  const s = input.trim();
  if (s === "") return { ok: false, error: "Enter an amount" };
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[1] === "" && (m[2] ?? "") === "")) return { ok: false, error: "Enter a number like 12.50" };
  const whole = m[1] ?? "";
  const frac = m[2] ?? "";
  if (frac.length > digits) {
    return { ok: false, error: digits === 0 ? "This currency has no decimals" : `At most ${digits} decimals` };
  }
  if (whole.length + digits > 18) return { ok: false, error: "Amount too large" };
  const value = BigInt(whole || "0") * 10n ** BigInt(digits) + BigInt(frac.padEnd(digits, "0") || "0");
  return { ok: true, value };
}

/** parseMinorUnits with the currency's own number of decimals. */
export function parseMoney(input: string, currency: string): Parsed<bigint> {
  if (!/^[A-Z]{3}$/.test(currency)) return { ok: false, error: "Currency must be a 3-letter code like USD" };
  return parseMinorUnits(input, currencyDigits(currency));
}
