import { useEffect, useId, useState } from "react";
import { useTitle } from "../components/useTitle";
import { Link, useParams, useSearchParams } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb";
import { ProductGrid } from "../components/ProductCard";
import { Loading } from "../components/Loading";
import { errorMessage } from "../api/errors";
import { recordEvent } from "../api/events";
import { withCardImage } from "./productImages";
import { currencyDigits, inputString } from "../money";
import { parseSearch, serializeSearch, toRequest, pageSize, type SearchState, type Sort } from "./searchState";

const sortLabels: Record<Sort, string> = {
  relevance: "Relevance",
  price_asc: "Price: low to high",
  price_desc: "Price: high to low",
  newest: "Newest",
};

/**
 * A local copy of a value that lives in the URL: a control shows the user's
 * change at once, even while the navigation that records it is pending, and
 * follows the URL whenever that changes (Back, links).
 */
function useMirror<T>(fromUrl: T, key: string): [T, (v: T) => void] {
  const [local, setLocal] = useState(fromUrl);
  const [seen, setSeen] = useState(key);
  if (seen !== key) {
    setSeen(key);
    setLocal(fromUrl);
  }
  return [local, setLocal];
}

export default function SearchPage() {
  const { categoryId } = useParams();
  const [params, setParams] = useSearchParams();
  const parsed = parseSearch(params);
  const state: SearchState = categoryId && /^\d+$/.test(categoryId) ? { ...parsed, category: categoryId } : parsed;
  // Prices are typed in the shop currency's major units; its decimals come
  // from the results (remembered, so the next search starts right).
  const [currency, setCurrency] = useState(rememberedCurrency);
  const req = toRequest(state, digitsOf(currency));
  const res = useQuery(CatalogService.method.searchProducts, req, { placeholderData: (prev) => prev });
  const seenCurrency = res.data?.hits.find((h) => h.product?.priceMoney?.currency)?.product?.priceMoney?.currency ?? "";
  if (seenCurrency && seenCurrency !== currency) {
    // Adjusting state while rendering (as useMirror does): no extra effect pass.
    rememberCurrency(seenCurrency);
    setCurrency(seenCurrency);
  }
  const digits = digitsOf(currency);
  const step = digits === 0 ? "1" : `0.${"1".padStart(digits, "0")}`;
  const major = (m: bigint) => inputString(m, currency || "USD"); // unknown yet: two decimals
  const cats = useQuery(CatalogService.method.listCategories, {});
  const ids = useId();
  const [inStock, setInStock] = useMirror(state.inStock, String(state.inStock));
  const [sort, setSort] = useMirror(state.sort, state.sort);
  const [category, setCategory] = useMirror(state.category, state.category);
  // Filters start folded on small screens, where they would fill the first screen.
  const [filtersOpen, setFiltersOpen] = useState(() => globalThis.matchMedia?.("(min-width: 48rem)").matches ?? true);
  const [brands, setBrands] = useMirror(state.brands, state.brands.join("\u0000"));

  useEffect(() => {
    if (state.q) recordEvent("search", { query: state.q });
  }, [state.q]);

  const update = (patch: Partial<SearchState>) => {
    // From the address as it is now: an earlier change may still be rendering.
    const now = parseSearch(new URLSearchParams(window.location.search));
    const next = { ...now, page: 1, ...patch };
    // On a category page the category is the path; keep it out of the query.
    if (categoryId) next.category = "";
    setParams(serializeSearch(next));
  };

  const catName = categoryId ? cats.data?.categories.find((c) => c.id.toString() === categoryId)?.name : undefined;
  const title = categoryId ? (catName ?? "Category") : "Search results";
  useTitle(state.q ? `${title}: ${state.q}` : title);
  const data = res.data;
  const total = data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const categoryFacets = data?.categories ?? [];
  const brandFacets = data?.brands ?? [];

  return (
    <div className="search-layout">
      <h1>{title}</h1>
      <p role="status" aria-live="polite" className="muted">
        {res.isFetching && !data ? "Searching…" : data ? `${total} ${total === 1 ? "product" : "products"}${state.q ? ` for “${state.q}”` : ""}` : ""}
      </p>
      <aside className="filters" aria-label="Filters">
        <details open={filtersOpen} onToggle={(e) => setFiltersOpen(e.currentTarget.open)}>
        <summary>Filters</summary>
        {!categoryId && (
          <div className="field">
            <label htmlFor={`${ids}-cat`}>Category</label>
            <select id={`${ids}-cat`} value={category}
              onChange={(e) => {
                setCategory(e.target.value);
                update({ category: e.target.value });
              }}>
              <option value="">All categories</option>
              {(categoryFacets.length ? categoryFacets : (cats.data?.categories ?? []).map((c) => ({ key: c.id.toString(), label: c.name, count: -1 }))).map(
                (f) => (
                  <option key={f.key} value={f.key}>
                    {f.label || cats.data?.categories.find((c) => c.id.toString() === f.key)?.name || f.key}
                    {f.count >= 0 ? ` (${f.count})` : ""}
                  </option>
                ),
              )}
              {state.category && !categoryFacets.some((f) => f.key === state.category) ? <option value={state.category}>Selected category</option> : null}
            </select>
          </div>
        )}
        <fieldset>
          <legend>Brand</legend>
          {brandFacets.length === 0 && state.brands.length === 0 ? <p className="muted">No brands</p> : null}
          {[...brandFacets, ...state.brands.filter((b) => !brandFacets.some((f) => f.key === b)).map((b) => ({ key: b, label: b, count: 0 }))].map((f) => (
            <label key={f.key} className="check">
              <input
                type="checkbox"
                checked={brands.includes(f.key)}
                onChange={(e) => {
                  const next = e.target.checked ? [...brands, f.key] : brands.filter((b) => b !== f.key);
                  setBrands(next);
                  update({ brands: next });
                }}
              />
              {f.label || f.key} ({f.count})
            </label>
          ))}
        </fieldset>
        <form
          className="price-range"
          onSubmit={(e) => {
            e.preventDefault();
            const fd = new FormData(e.currentTarget);
            update({ minPrice: String(fd.get("min") ?? "").trim(), maxPrice: String(fd.get("max") ?? "").trim() });
          }}
          key={`${state.minPrice}-${state.maxPrice}`}
        >
          <div className="field">
            <label htmlFor={`${ids}-min`}>Min price</label>
            <input id={`${ids}-min`} name="min" type="number" min="0" step={step} inputMode="decimal" defaultValue={state.minPrice} />
          </div>
          <div className="field">
            <label htmlFor={`${ids}-max`}>Max price</label>
            <input id={`${ids}-max`} name="max" type="number" min="0" step={step} inputMode="decimal" defaultValue={state.maxPrice} />
          </div>
          <button type="submit">Apply price</button>
        </form>
        {data?.prices.length ? (
          <ul className="buckets" aria-label="Price ranges">
            {data.prices
              .filter((b) => b.count > 0)
              .map((b) => (
                <li key={`${b.fromMinor}-${b.toMinor}`}>
                  <button
                    type="button"
                    className="link"
                    onClick={() => update({ minPrice: major(b.fromMinor), maxPrice: b.toMinor > 0n ? major(b.toMinor) : "" })}
                  >
                    {major(b.fromMinor)}
                    {b.toMinor > 0n ? `–${major(b.toMinor)}` : "+"} ({b.count})
                  </button>
                </li>
              ))}
          </ul>
        ) : null}
        <label className="check">
          <input type="checkbox" checked={inStock}
            onChange={(e) => {
              setInStock(e.target.checked);
              update({ inStock: e.target.checked });
            }} />
          In stock only
        </label>
        </details>
      </aside>
      <section className="results" aria-label="Results">
        <div className="field inline">
          <label htmlFor={`${ids}-sort`}>Sort by</label>
          <select id={`${ids}-sort`} value={sort}
            onChange={(e) => {
              setSort(e.target.value as Sort);
              update({ sort: e.target.value as Sort });
            }}>
            {Object.entries(sortLabels).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        {res.isLoading ? <Loading /> : null}
        {res.error ? <p role="alert">{errorMessage(res.error)}</p> : null}
        {data && data.hits.length === 0 ? (
          <p>
            Nothing found. <Link to="/search">Clear all filters</Link>
          </p>
        ) : null}
        {data ? <ProductGrid label="Products" products={data.hits.flatMap((h) => (h.product ? [withCardImage(h.product)] : []))} /> : null}
        {pages > 1 ? (
          <nav aria-label="Pages" className="pager">
            <button type="button" disabled={state.page <= 1} onClick={() => update({ page: state.page - 1 })}>
              Previous page
            </button>
            <span>
              Page {state.page} of {pages}
            </span>
            <button type="button" disabled={state.page >= pages} onClick={() => update({ page: state.page + 1 })}>
              Next page
            </button>
          </nav>
        ) : null}
      </section>
    </div>
  );
}

/** The currency's decimals; two while it is not known yet. */
const digitsOf = (currency: string) => (currency ? currencyDigits(currency) : 2);

const currencyKey = "shop.currency";
function rememberedCurrency(): string {
  try {
    return localStorage.getItem(currencyKey) ?? "";
  } catch {
    return "";
  }
}
function rememberCurrency(c: string) {
  try {
    localStorage.setItem(currencyKey, c);
  } catch {
    // private mode: the results still set it for this page
  }
}
