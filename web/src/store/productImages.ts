import type { ImageRendition, Product, ProductImage } from "../gen/shop/catalog/v1/catalog_pb";

export interface ImageInfo {
  src: string;
  webpSrc?: string;
  width: number;
  height: number;
  alt: string;
}

export type Size = "thumbnail" | "card" | "full";

/** One image at a size, for ProductImage; the original's ratio when the rendition lacks one. */
export function imageAt(img: ProductImage, size: Size, fallbackAlt: string): ImageInfo | null {
  const r: ImageRendition | undefined = img[size] ?? img.full ?? img.card ?? img.thumbnail;
  if (!r || !(r.fallbackUrl || r.webpUrl)) return null;
  return {
    src: r.fallbackUrl || r.webpUrl,
    webpSrc: r.fallbackUrl && r.webpUrl ? r.webpUrl : undefined,
    width: r.width || img.width || 4,
    height: r.height || img.height || 3,
    alt: img.altText || fallbackAlt,
  };
}

/** The product's ready images at a size, primary first. */
export function productImages(p: Product, size: Size): ImageInfo[] {
  const ready = p.images.filter((i) => !i.status || i.status === "ready");
  const ordered = [...ready.filter((i) => i.primary), ...ready.filter((i) => !i.primary)];
  return ordered.flatMap((i) => imageAt(i, size, p.name) ?? []);
}

/** A product for ProductCard, with its primary image at card size. */
export function withCardImage(p: Product) {
  return { id: p.id, name: p.name, brand: p.brand, priceMoney: p.priceMoney, stockQuantity: p.stockQuantity, image: productImages(p, "card")[0] ?? null };
}
