import { describe, expect, it } from "vitest";
import { defaultState, parseSearch, serializeSearch, toMinor, toRequest, type SearchState } from "./searchState";

describe("search state in the URL", () => {
  it("round-trips a full state", () => {
    const s: SearchState = {
      q: "red shoes",
      category: "12",
      brands: ["Acme", "Zeta & Co"],
      minPrice: "10",
      maxPrice: "99.5",
      inStock: true,
      sort: "price_desc",
      page: 3,
    };
    const qs = serializeSearch(s).toString();
    expect(qs).toBe("q=red+shoes&category=12&brand=Acme&brand=Zeta+%26+Co&min_price=10&max_price=99.5&in_stock=1&sort=price_desc&page=3");
    expect(parseSearch(new URLSearchParams(qs))).toEqual(s);
  });

  it("gives the defaults for an empty query and serialises them to nothing", () => {
    expect(parseSearch(new URLSearchParams(""))).toEqual(defaultState);
    expect(serializeSearch(defaultState).toString()).toBe("");
  });

  it("ignores bad values", () => {
    const s = parseSearch(new URLSearchParams("category=abc&min_price=-5&max_price=1e3&sort=cheapest&page=0&in_stock=maybe&brand="));
    expect(s).toEqual(defaultState);
    expect(parseSearch(new URLSearchParams("page=2.5")).page).toBe(1);
    expect(parseSearch(new URLSearchParams("page=99999")).page).toBe(1);
    expect(parseSearch(new URLSearchParams("category=0")).category).toBe("");
    expect(parseSearch(new URLSearchParams("max_price=1.2345")).maxPrice).toBe("");
    expect(parseSearch(new URLSearchParams("max_price=1.234")).maxPrice).toBe("1.234"); // the currency decides (toMinor)
  });

  it("accepts in_stock=true and dedupes brands", () => {
    const s = parseSearch(new URLSearchParams("in_stock=true&brand=A&brand=A&brand=B"));
    expect(s.inStock).toBe(true);
    expect(s.brands).toEqual(["A", "B"]);
  });

  it("converts prices to minor units without floats", () => {
    expect(toMinor("9.9", 2)).toBe(990n);
    expect(toMinor("0.07", 2)).toBe(7n);
    expect(toMinor("1999.99", 2)).toBe(199999n);
    expect(toMinor("12", 0)).toBe(12n);
    expect(toMinor("1000", 0)).toBe(1000n); // JPY: no cents
    expect(toMinor("1.5", 0)).toBeUndefined();
    expect(toMinor("1.5", 3)).toBe(1500n); // KWD: three decimals
    expect(toMinor("1.505", 3)).toBe(1505n);
    expect(toMinor("", 2)).toBeUndefined();
    expect(toMinor("abc", 2)).toBeUndefined();
  });

  it("builds the API request with paging", () => {
    expect(toRequest({ ...defaultState, minPrice: "1000" }, 0).minPriceMinor).toBe(1000n);
    const r = toRequest({ ...defaultState, q: "x", category: "4", minPrice: "5", page: 2 }, 2);
    expect(r).toMatchObject({ q: "x", categoryId: 4n, minPriceMinor: 500n, maxPriceMinor: undefined, skip: 24, limit: 24, sort: "relevance" });
  });
});
