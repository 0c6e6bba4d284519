import { useEffect, useId } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb";
import { ProductGrid } from "../components/ProductCard";
import { Loading } from "../components/Loading";
import { errorMessage } from "../api/errors";
import { recordEvent } from "../api/events";
import { parseSearch, serializeSearch, toRequest, pageSize, type SearchState, type Sort } from "./searchState";

const sortLabels: Record<Sort, string> = {
  relevance: "Relevance",
  price_asc: "Price: low to high",
  price_desc: "Price: high to low",
  newest: "Newest",
};

export default function SearchPage() {
  const { categoryId } = useParams();
  const [params, setParams] = useSearchParams();
  const parsed = parseSearch(params);
  const state: SearchState = categoryId && /^\d+$/.test(categoryId) ? { ...parsed, category: categoryId } : parsed;
  const req = toRequest(state);
  const res = useQuery(CatalogService.method.searchProducts, req, { placeholderData: (prev) => prev });
  const cats = useQuery(CatalogService.method.listCategories, {});
  const ids = useId();

  useEffect(() => {
    if (state.q) recordEvent("search", { query: state.q });
  }, [state.q]);

  const update = (patch: Partial<SearchState>) => {
    const next = { ...state, page: 1, ...patch };
    // On a category page the category is the path; keep it out of the query.
    if (categoryId) next.category = "";
    setParams(serializeSearch(next));
  };

  const catName = categoryId ? cats.data?.categories.find((c) => c.id.toString() === categoryId)?.name : undefined;
  const title = categoryId ? (catName ?? "Category") : "Search results";
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
        <h2>Filters</h2>
        {!categoryId && (
          <div className="field">
            <label htmlFor={`${ids}-cat`}>Category</label>
            <select id={`${ids}-cat`} value={state.category} onChange={(e) => update({ category: e.target.value })}>
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
                checked={state.brands.includes(f.key)}
                onChange={(e) => update({ brands: e.target.checked ? [...state.brands, f.key] : state.brands.filter((b) => b !== f.key) })}
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
            <input id={`${ids}-min`} name="min" type="number" min="0" step="0.01" inputMode="decimal" defaultValue={state.minPrice} />
          </div>
          <div className="field">
            <label htmlFor={`${ids}-max`}>Max price</label>
            <input id={`${ids}-max`} name="max" type="number" min="0" step="0.01" inputMode="decimal" defaultValue={state.maxPrice} />
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
                    onClick={() => update({ minPrice: minorToMajor(b.fromMinor), maxPrice: b.toMinor > 0n ? minorToMajor(b.toMinor) : "" })}
                  >
                    {minorToMajor(b.fromMinor)}
                    {b.toMinor > 0n ? `–${minorToMajor(b.toMinor)}` : "+"} ({b.count})
                  </button>
                </li>
              ))}
          </ul>
        ) : null}
        <label className="check">
          <input type="checkbox" checked={state.inStock} onChange={(e) => update({ inStock: e.target.checked })} />
          In stock only
        </label>
      </aside>
      <section className="results" aria-label="Results">
        <div className="field inline">
          <label htmlFor={`${ids}-sort`}>Sort by</label>
          <select id={`${ids}-sort`} value={state.sort} onChange={(e) => update({ sort: e.target.value as Sort })}>
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
        {data ? <ProductGrid label="Products" products={data.hits.flatMap((h) => (h.product ? [h.product] : []))} /> : null}
        {pages > 1 ? (
          <nav aria-label="Pages" className="pager">
            <button type="button" disabled={state.page <= 1} onClick={() => setParams(serializeSearch({ ...state, category: categoryId ? "" : state.category, page: state.page - 1 }))}>
              Previous page
            </button>
            <span>
              Page {state.page} of {pages}
            </span>
            <button type="button" disabled={state.page >= pages} onClick={() => setParams(serializeSearch({ ...state, category: categoryId ? "" : state.category, page: state.page + 1 }))}>
              Next page
            </button>
          </nav>
        ) : null}
      </section>
    </div>
  );
}

// Bucket bounds for the price inputs, in major units (two decimals; the
// search API's buckets are whole amounts in practice).
function minorToMajor(m: bigint): string {
  const s = m.toString().padStart(3, "0");
  const frac = s.slice(-2);
  return s.slice(0, -2) + (frac === "00" ? "" : "." + frac);
}
