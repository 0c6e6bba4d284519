import { Link, useSearchParams } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb";
import { formatMoney } from "../money";
import { AdminOnlyNote, ApiError, Loading, Pager, useIsAdmin } from "./ui";

const limit = 25;

export default function Products() {
  const isAdmin = useIsAdmin();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const category = params.get("category") ?? "";
  const skip = Math.max(0, Number(params.get("skip") ?? 0) || 0);
  const cats = useQuery(CatalogService.method.listCategories, {});
  const list = useQuery(CatalogService.method.listProducts, {
    search: q,
    categoryId: category ? BigInt(category) : 0n,
    skip,
    limit,
  });
  const catName = new Map((cats.data?.categories ?? []).map((c) => [c.id, c.name]));

  return (
    <>
      <div className="title-row">
        <h1>Products</h1>
        {isAdmin ? (
          <Link className="button" to="/admin/products/new">
            New product
          </Link>
        ) : (
          <AdminOnlyNote what="create products" />
        )}
      </div>
      <form
        role="search"
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const next: Record<string, string> = {};
          const nq = String(f.get("q") ?? "").trim();
          const nc = String(f.get("category") ?? "");
          if (nq) next.q = nq;
          if (nc) next.category = nc;
          setParams(next);
        }}
      >
        <div className="field">
          <label htmlFor="pr-q">Search</label>
          <input id="pr-q" name="q" type="search" defaultValue={q} key={q} />
        </div>
        <div className="field">
          <label htmlFor="pr-cat">Category</label>
          <select id="pr-cat" name="category" defaultValue={category} key={category}>
            <option value="">All categories</option>
            {cats.data?.categories.map((c) => (
              <option key={String(c.id)} value={String(c.id)}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      <p className="hint">Archived products are hidden from this list; open one by its id: /admin/products/ID.</p>
      <ApiError error={list.error} />
      {list.isPending && <Loading what="products" />}
      {list.data && (
        <>
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption>
                Products ({list.data.total}
                {q ? ` matching “${q}”` : ""})
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">SKU</th>
                  <th scope="col">Brand</th>
                  <th scope="col">Category</th>
                  <th scope="col">Price</th>
                  <th scope="col">Stock</th>
                  <th scope="col">Variants</th>
                </tr>
              </thead>
              <tbody>
                {list.data.products.length === 0 && (
                  <tr>
                    <td colSpan={7}>No products found.</td>
                  </tr>
                )}
                {list.data.products.map((p) => (
                  <tr key={String(p.id)}>
                    <th scope="row">
                      <Link to={`/admin/products/${p.id}`}>{p.name}</Link>
                    </th>
                    <td>{p.sku}</td>
                    <td>{p.brand}</td>
                    <td>{catName.get(p.categoryId) ?? ""}</td>
                    <td className="num">{formatMoney(p.priceMoney)}</td>
                    <td className="num">{p.stockQuantity}</td>
                    <td className="num">{p.variants.length}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            skip={skip}
            limit={limit}
            total={list.data.total}
            onSkip={(s) => {
              const next = new URLSearchParams(params);
              next.set("skip", String(s));
              setParams(next);
            }}
          />
        </>
      )}
    </>
  );
}
