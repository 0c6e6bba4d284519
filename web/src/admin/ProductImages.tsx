import { useId, useState } from "react";
import type { Product } from "../gen/shop/catalog/v1/catalog_pb";
import { errorText } from "./lib";
import { ConfirmButton, StatusMessage } from "./ui";

/** One product image as the manager shows it. */
export interface ImageView {
  id: string;
  url: string;
  alt: string;
  primary: boolean;
  width?: number;
  height?: number;
}

/**
 * What the image manager needs from the API; the calls it leaves undefined
 * are not offered.
 */
export interface ImageApi {
  images: ImageView[];
  upload: (file: File, alt: string) => Promise<void>;
  remove?: (id: string) => Promise<void>;
  setPrimary?: (id: string) => Promise<void>;
}

/** Upload, list, delete and choose the primary image of a product. */
export function ImageManager({ productName, api }: { productName: string; api: ImageApi }) {
  const { setPrimary, remove } = api;
  const uid = useId();
  const [file, setFile] = useState<File | null>(null);
  const [alt, setAlt] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [msg, setMsg] = useState("");
  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(true);
    setError("");
    setMsg("");
    try {
      await fn();
      setMsg(what);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      {api.images.length === 0 ? (
        <p>{productName} has no images yet.</p>
      ) : (
        <ul className="images">
          {api.images.map((img) => (
            <li key={img.id}>
              <figure>
                <img src={img.url} alt={img.alt} width={img.width ?? 160} height={img.height ?? 160} loading="lazy" />
                <figcaption>
                  {img.alt || <em>No alt text</em>}
                  {img.primary && <strong> (primary)</strong>}
                </figcaption>
              </figure>
              <div className="row">
                {setPrimary && !img.primary && (
                  <button type="button" disabled={busy} onClick={() => run("Primary image changed", () => setPrimary(img.id))}>
                    Make primary: {img.alt || img.id}
                  </button>
                )}
                {remove && (
                  <ConfirmButton
                    label={`Delete image ${img.alt || img.id}`}
                    question="Delete this image? The storefront stops showing it."
                    confirmLabel="Yes, delete image"
                    busy={busy}
                    onConfirm={() => void run("Image deleted", () => remove(img.id))}
                  />
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
      <form
        className="card form-grid"
        aria-label={`Upload an image of ${productName}`}
        onSubmit={(e) => {
          e.preventDefault();
          if (!file) return setError("Choose an image file");
          if (!file.type.startsWith("image/")) return setError("The file is not an image");
          void run("Image uploaded", async () => {
            await api.upload(file, alt.trim());
            setFile(null);
            setAlt("");
            (e.target as HTMLFormElement).reset();
          });
        }}
      >
        <div className="field">
          <label htmlFor={`${uid}-file`}>Upload image</label>
          <input id={`${uid}-file`} type="file" accept="image/*" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </div>
        <div className="field">
          <label htmlFor={`${uid}-alt`}>Alt text</label>
          <input id={`${uid}-alt`} required value={alt} onChange={(e) => setAlt(e.target.value)} placeholder="What the image shows" />
        </div>
        <div>
          <button type="submit" disabled={busy}>
            Upload
          </button>
        </div>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {msg && <StatusMessage>{msg}</StatusMessage>}
    </>
  );
}

/**
 * The product page's image section. The API does not answer images on
 * Product yet: until it does, ImageManager stays unwired and this says so.
 */
export function ProductImages({ product }: { product: Product }) {
  return (
    <section aria-labelledby="images-title">
      <h2 id="images-title">Images</h2>
      <p className="note">Images of {product.name} can be managed here once the API offers product images.</p>
    </section>
  );
}
