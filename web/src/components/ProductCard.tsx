import { Link } from "react-router";
import type { Money } from "../gen/shop/catalog/v1/catalog_pb";
import { formatMoney } from "../money";
import { ProductImage } from "./ProductImage";

export interface CardProduct {
  id: bigint;
  name: string;
  brand?: string;
  priceMoney?: Money;
  stockQuantity?: number;
  image?: { src: string; webpSrc?: string; width: number; height: number };
}

export function ProductCard({ p }: { p: CardProduct }) {
  return (
    <article className="card">
      <ProductImage src={p.image?.src} webpSrc={p.image?.webpSrc} width={p.image?.width ?? 4} height={p.image?.height ?? 3} alt="" />
      <h3 className="card-title">
        <Link to={`/p/${p.id}`}>{p.name}</Link>
      </h3>
      {p.brand ? <p className="muted">{p.brand}</p> : null}
      <p className="price">{formatMoney(p.priceMoney)}</p>
      {p.stockQuantity !== undefined && p.stockQuantity <= 0 ? <p className="muted">Out of stock</p> : null}
    </article>
  );
}

export function ProductGrid({ products, label }: { products: CardProduct[]; label?: string }) {
  return (
    <ul className="grid" aria-label={label}>
      {products.map((p) => (
        <li key={p.id.toString()}>
          <ProductCard p={p} />
        </li>
      ))}
    </ul>
  );
}
