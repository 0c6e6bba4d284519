import { Link } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { CatalogService, type Product } from "../gen/shop/catalog/v1/catalog_pb";
import { RecommendationService } from "../gen/shop/recommendation/v1/recommendation_pb";
import { ProductGrid } from "../components/ProductCard";
import { Loading } from "../components/Loading";
import { useMe } from "../auth/useSession";
import { errorMessage } from "../api/errors";

/** Products marked featured (attribute featured=true) first, otherwise the newest. */
function featured(products: Product[]): Product[] {
  const marked = products.filter((p) => ["true", "1", "yes"].includes((p.attributes["featured"] ?? "").toLowerCase()));
  if (marked.length > 0) return marked.slice(0, 8);
  return [...products].sort((a, b) => Number((b.createdAt?.seconds ?? 0n) - (a.createdAt?.seconds ?? 0n))).slice(0, 8);
}

export function Home() {
  const products = useQuery(CatalogService.method.listProducts, { limit: 48 });
  const categories = useQuery(CatalogService.method.listCategories, {});
  const me = useMe();
  const userId = me.data?.user?.id ?? 0n;
  const recs = useQuery(RecommendationService.method.getRecommendations, { userId, limit: 8 }, { enabled: !me.isLoading });

  return (
    <>
      <h1>Welcome to the shop</h1>
      <section aria-labelledby="cats">
        <h2 id="cats">Categories</h2>
        {categories.isLoading ? <Loading /> : null}
        {categories.error ? <p role="alert">{errorMessage(categories.error)}</p> : null}
        <ul className="chips">
          {categories.data?.categories.map((c) => (
            <li key={c.id.toString()}>
              <Link to={`/c/${c.id}`}>{c.name}</Link>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="featured">
        <h2 id="featured">Featured products</h2>
        {products.isLoading ? <Loading /> : null}
        {products.error ? <p role="alert">{errorMessage(products.error)}</p> : null}
        {products.data && products.data.products.length === 0 ? <p>No products yet.</p> : null}
        {products.data ? <ProductGrid products={featured(products.data.products)} label="Featured products" /> : null}
      </section>
      <section aria-labelledby="recs">
        <h2 id="recs">Recommended for you</h2>
        {recs.isLoading ? <Loading /> : null}
        {recs.data && recs.data.recommendations.length === 0 ? <p>Nothing to recommend yet.</p> : null}
        {recs.error ? <p className="muted">Recommendations are not available right now.</p> : null}
        {recs.data ? (
          <ProductGrid
            label="Recommended for you"
            products={recs.data.recommendations.flatMap((r) =>
              r.product ? [{ id: r.product.id, name: r.product.name, brand: r.product.brand, priceMoney: r.product.priceMoney }] : [],
            )}
          />
        ) : null}
      </section>
    </>
  );
}
