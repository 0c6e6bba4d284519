import type { Product } from "../gen/shop/catalog/v1/catalog_pb";

/**
 * Product images. The API does not answer images on Product yet; until it
 * does this section says so, and the upload form lands here alone.
 */
export function ProductImages({ product }: { product: Product }) {
  return (
    <section aria-labelledby="images-title">
      <h2 id="images-title">Images</h2>
      <p className="note">Images of {product.name} can be managed here once the API offers product images.</p>
    </section>
  );
}
