// The search page keeps all of its state in the URL query, so a search can
// be bookmarked, shared and navigated with Back. This module is the one
// place that reads and writes it; anything malformed falls back to the
// default rather than reaching the API.
import { parseMinorUnits } from "../money";

export const sorts = ["relevance", "price_asc", "price_desc", "newest"] as const;
export type Sort = (typeof sorts)[number];

export interface SearchState {
  q: string;
  /** Category id as decimal digits; "" for all. */
  category: string;
  brands: string[];
  /** Prices in major units as typed ("10", "9.99"); "" for no bound. */
  minPrice: string;
  maxPrice: string;
  inStock: boolean;
  sort: Sort;
  /** 1-based. */
  page: number;
}

export const defaultState: SearchState = {
  q: "",
  category: "",
  brands: [],
  minPrice: "",
  maxPrice: "",
  inStock: false,
  sort: "relevance",
  page: 1,
};

export const pageSize = 24;
const maxPage = 1000;
// Up to 3 decimals (the most any currency has); the currency decides in toMinor.
const priceRe = /^\d{1,12}(\.\d{1,3})?$/;

function cleanPrice(v: string | null): string {
  const s = (v ?? "").trim();
  return priceRe.test(s) ? s : "";
}

export function parseSearch(params: URLSearchParams): SearchState {
  const category = (params.get("category") ?? "").trim();
  const sort = params.get("sort") ?? "";
  const page = Number(params.get("page"));
  const brands = [...new Set(params.getAll("brand").map((b) => b.trim()).filter((b) => b !== "" && b.length <= 100))];
  const inStock = params.get("in_stock");
  return {
    q: (params.get("q") ?? "").trim().slice(0, 200),
    category: /^[1-9]\d{0,18}$/.test(category) ? category : "",
    brands,
    minPrice: cleanPrice(params.get("min_price")),
    maxPrice: cleanPrice(params.get("max_price")),
    inStock: inStock === "1" || inStock === "true",
    sort: (sorts as readonly string[]).includes(sort) ? (sort as Sort) : "relevance",
    page: Number.isInteger(page) && page >= 1 && page <= maxPage ? page : 1,
  };
}

/** The query for a state, leaving out every default so URLs stay short. */
export function serializeSearch(s: SearchState): URLSearchParams {
  const p = new URLSearchParams();
  if (s.q) p.set("q", s.q);
  if (s.category) p.set("category", s.category);
  for (const b of s.brands) p.append("brand", b);
  if (s.minPrice) p.set("min_price", s.minPrice);
  if (s.maxPrice) p.set("max_price", s.maxPrice);
  if (s.inStock) p.set("in_stock", "1");
  if (s.sort !== "relevance") p.set("sort", s.sort);
  if (s.page > 1) p.set("page", String(s.page));
  return p;
}

/**
 * A price typed in major units as integer minor units of a currency with
 * `digits` decimals (money.ts, no floats): "9.9" with 2 digits is 990n.
 * undefined when empty, malformed or more precise than the currency.
 */
export function toMinor(major: string, digits: number): bigint | undefined {
  if (!priceRe.test(major)) return undefined;
  const r = parseMinorUnits(major, digits);
  return r.ok ? r.value : undefined;
}

/** The SearchProducts request for a state. */
/** digits: the shop currency's decimals (money.ts currencyDigits). */
export function toRequest(s: SearchState, digits: number) {
  return {
    q: s.q,
    categoryId: s.category ? BigInt(s.category) : 0n,
    brands: s.brands,
    minPriceMinor: toMinor(s.minPrice, digits),
    maxPriceMinor: toMinor(s.maxPrice, digits),
    inStock: s.inStock,
    sort: s.sort === "relevance" && !s.q ? "" : s.sort,
    skip: (s.page - 1) * pageSize,
    limit: pageSize,
  };
}
