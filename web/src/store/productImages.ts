import type { Product } from "../gen/shop/catalog/v1/catalog_pb";

export interface ImageInfo {
  src: string;
  webpSrc?: string;
  width: number;
  height: number;
  alt: string;
}

// Product images are arriving in the API as Product.images; until the
// generated client has them this reads them defensively, so the pages work
// with either.
export function productImages(p: Product): ImageInfo[] {
  const raw = (p as unknown as { images?: unknown }).images;
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((i: Record<string, unknown>) => {
    const src = typeof i["url"] === "string" ? i["url"] : typeof i["src"] === "string" ? i["src"] : "";
    if (!src) return [];
    const webp = typeof i["webpUrl"] === "string" ? i["webpUrl"] : undefined;
    return [
      {
        src,
        webpSrc: webp || undefined,
        width: typeof i["width"] === "number" && i["width"] > 0 ? i["width"] : 4,
        height: typeof i["height"] === "number" && i["height"] > 0 ? i["height"] : 3,
        alt: typeof i["alt"] === "string" && i["alt"] ? i["alt"] : p.name,
      },
    ];
  });
}
