import { useEffect, useId, useState } from "react";
import { useTitle } from "../components/useTitle";
import { useNavigate, useParams } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { CatalogService, type Product, type Variant } from "../gen/shop/catalog/v1/catalog_pb";
import { RecommendationService } from "../gen/shop/recommendation/v1/recommendation_pb";
import { CartService } from "../gen/shop/cart/v1/cart_pb";
import { ProductImage } from "../components/ProductImage";
import { ProductGrid } from "../components/ProductCard";
import { Loading } from "../components/Loading";
import { NotFound } from "../components/NotFound";
import { errorMessage } from "../api/errors";
import { recordEvent } from "../api/events";
import { formatMoney } from "../money";
import { useSignedIn } from "../auth/useSession";
import { useSetCart } from "./cartQuery";
import { addPending } from "./pendingCart";
import { productImages } from "./productImages";
import { Code, ConnectError } from "@connectrpc/connect";

function attributeNames(variants: Variant[]): string[] {
  const names = new Set<string>();
  for (const v of variants) for (const k of Object.keys(v.attributes)) names.add(k);
  return [...names].sort();
}

function valuesOf(variants: Variant[], name: string): string[] {
  return [...new Set(variants.map((v) => v.attributes[name]).filter((x): x is string => !!x))];
}

export function stockText(n: number): string {
  if (n <= 0) return "Out of stock";
  if (n <= 5) return `Only ${n} left`;
  return "In stock";
}

export default function ProductPage() {
  const { productId = "" } = useParams();
  const valid = /^[1-9]\d{0,18}$/.test(productId);
  const id = valid ? BigInt(productId) : 0n;
  const res = useQuery(CatalogService.method.getProduct, { productId: id }, { enabled: valid });

  useEffect(() => {
    if (valid) recordEvent("view", { productId: id });
  }, [valid, id]);

  if (!valid || (res.error instanceof ConnectError && res.error.code === Code.NotFound)) return <NotFound />;
  if (res.isLoading) return <Loading />;
  if (res.error) return <p role="alert">{errorMessage(res.error)}</p>;
  const p = res.data?.product;
  if (!p) return <NotFound />;
  return <ProductView key={p.id.toString()} p={p} />;
}

function ProductView({ p }: { p: Product }) {
  useTitle(p.name);
  const variants = p.variants.filter((v) => v.active);
  const names = attributeNames(variants);
  const [chosen, setChosen] = useState<Record<string, string>>(() => {
    const first = variants.find((v) => v.stockQuantity > 0) ?? variants[0];
    return first ? { ...first.attributes } : {};
  });
  const [qty, setQty] = useState(1);
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  const ids = useId();
  const signedIn = useSignedIn();
  const navigate = useNavigate();
  const setCart = useSetCart();
  const add = useMutation(CartService.method.addCartItem);
  const also = useQuery(RecommendationService.method.alsoBought, { productId: p.id, limit: 6 });

  const variant = variants.length ? variants.find((v) => names.every((n) => (v.attributes[n] ?? "") === (chosen[n] ?? ""))) : undefined;
  const noMatch = variants.length > 0 && !variant;
  const price = variant?.priceMoney ?? p.priceMoney;
  const stock = variant ? variant.stockQuantity : p.stockQuantity;
  const sku = variant?.sku || p.sku;
  const images = productImages(p, "full");
  const thumbs = productImages(p, "thumbnail");
  const [shown, setShown] = useState(0);
  const main = images[shown] ?? images[0];

  const onAdd = async () => {
    setStatus("");
    setError("");
    const item = { productId: p.id, variantId: variant?.id ?? 0n, quantity: qty };
    if (!signedIn) {
      addPending({ ...item, name: p.name });
      void navigate(`/signin?next=${encodeURIComponent("/cart")}&reason=cart`);
      return;
    }
    try {
      const r = await add.mutateAsync(item);
      setCart(r.cart);
      recordEvent("add_to_cart", item);
      setStatus("Added to cart");
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <article className="product">
      <div className="product-media">
        <ProductImage src={main?.src} webpSrc={main?.webpSrc} width={main?.width ?? 4} height={main?.height ?? 3} alt={main?.alt ?? p.name} priority />
        {thumbs.length > 1 ? (
          <ul className="thumbs" aria-label="Pictures">
            {thumbs.map((im, i) => (
              <li key={im.src}>
                <button type="button" className="thumb" aria-pressed={i === shown} aria-label={`Show picture ${i + 1}: ${im.alt}`} onClick={() => setShown(i)}>
                  <ProductImage {...im} alt="" />
                </button>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      <div className="product-info">
        <h1>{p.name}</h1>
        {p.brand ? <p className="muted">{p.brand}</p> : null}
        <p className="price big">{formatMoney(price)}</p>
        <p className={stock > 0 ? "stock" : "stock out"}>{noMatch ? "This combination is not available" : stockText(stock)}</p>
        <p className="muted">SKU {sku}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void onAdd();
          }}
        >
          {names.map((n) => (
            <div className="field" key={n}>
              <label htmlFor={`${ids}-${n}`}>{n.charAt(0).toUpperCase() + n.slice(1)}</label>
              <select id={`${ids}-${n}`} value={chosen[n] ?? ""} onChange={(e) => setChosen({ ...chosen, [n]: e.target.value })}>
                {valuesOf(variants, n).map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </div>
          ))}
          <div className="field">
            <label htmlFor={`${ids}-qty`}>Quantity</label>
            <input
              id={`${ids}-qty`}
              type="number"
              min={1}
              max={Math.max(1, Math.min(stock, 99))}
              value={qty}
              onChange={(e) => setQty(Math.max(1, Math.floor(Number(e.target.value) || 1)))}
            />
          </div>
          <button type="submit" className="primary" disabled={noMatch || stock <= 0 || add.isPending}>
            Add to cart
          </button>
        </form>
        <p role="status" aria-live="polite" className="status">
          {status}
        </p>
        {error ? <p role="alert">{error}</p> : null}
        {p.description ? <p className="description">{p.description}</p> : null}
      </div>
      <section aria-labelledby={`${ids}-also`} className="also">
        <h2 id={`${ids}-also`}>Customers also bought</h2>
        {also.isLoading ? <Loading /> : null}
        {also.data && also.data.recommendations.length === 0 ? <p className="muted">Nothing yet.</p> : null}
        {also.error ? <p className="muted">Not available right now.</p> : null}
        {also.data ? (
          <ProductGrid
            label="Customers also bought"
            products={also.data.recommendations.flatMap((r) => (r.product ? [{ id: r.product.id, name: r.product.name, brand: r.product.brand, priceMoney: r.product.priceMoney }] : []))}
          />
        ) : null}
      </section>
    </article>
  );
}
