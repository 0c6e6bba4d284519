import { useId, useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { CatalogService, type Product } from "../gen/shop/catalog/v1/catalog_pb";
import { session } from "../api/transport";
import { errorText } from "./lib";
import { ApiError, ConfirmButton, Loading, StatusMessage } from "./ui";

/** One product image as the manager shows it. */
export interface ImageView {
  id: string;
  url: string;
  /** The same image as WebP, preferred where the browser takes it. */
  webp?: string;
  alt: string;
  primary: boolean;
  width?: number;
  height?: number;
  /** processing, ready or failed. */
  status?: string;
  failure?: string;
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
  setAlt?: (id: string, alt: string) => Promise<void>;
}

/** Upload, list, delete and choose the primary image of a product. */
export function ImageManager({ productName, api }: { productName: string; api: ImageApi }) {
  const { setPrimary, remove, setAlt: saveAlt } = api;
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
                <picture>
                  {img.webp && <source type="image/webp" srcSet={img.webp} />}
                  <img src={img.url} alt={img.alt} width={img.width ?? 160} height={img.height ?? 160} loading="lazy" />
                </picture>
                <figcaption>
                  {img.alt || <em>No alt text</em>}
                  {img.primary && <strong> (primary)</strong>}
                  {img.status && img.status !== "ready" && <span className="hint"> · {img.status}</span>}
                  {img.failure && <span className="field-error"> {img.failure}</span>}
                </figcaption>
              </figure>
              {saveAlt && <AltEditor image={img} busy={busy} onSave={(text) => void run("Alt text saved", () => saveAlt(img.id, text))} />}
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

function AltEditor({ image, busy, onSave }: { image: ImageView; busy: boolean; onSave: (alt: string) => void }) {
  const [alt, setAlt] = useState(image.alt);
  const id = useId();
  return (
    <form
      className="row"
      onSubmit={(e) => {
        e.preventDefault();
        onSave(alt.trim());
      }}
    >
      <div className="field">
        <label htmlFor={id}>Alt text of image {image.id}</label>
        <input id={id} maxLength={300} value={alt} onChange={(e) => setAlt(e.target.value)} />
      </div>
      <button type="submit" disabled={busy || alt.trim() === image.alt}>
        Save alt text
      </button>
    </form>
  );
}

/** Uploads a file to POST /api/products/{id}/images (multipart, as the README describes). */
async function uploadImage(productId: bigint, file: File, alt: string): Promise<void> {
  const token = await session.accessToken();
  const body = new FormData();
  body.append("file", file);
  if (alt) body.append("alt_text", alt);
  const r = await fetch(`/api/products/${productId}/images`, {
    method: "POST",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    body,
  });
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText}`;
    try {
      const j = (await r.json()) as { message?: string };
      if (j.message) msg = j.message;
    } catch {
      // The status line is all there is.
    }
    if (r.status === 413) msg = `The file is too large (${msg})`;
    if (r.status === 403) msg = `Permission denied: ${msg}`;
    throw new Error(msg);
  }
}

/** The product page's image section: staff see every image, processing and failed ones too. */
export function ProductImages({ product }: { product: Product }) {
  const qc = useQueryClient();
  const list = useQuery(
    CatalogService.method.listProductImages,
    { productId: product.id },
    { refetchInterval: (q) => (q.state.data?.images.some((i) => i.status === "processing") ? 2000 : false) },
  );
  const refresh = () => qc.invalidateQueries();
  const update = useMutation(CatalogService.method.updateProductImage);
  const del = useMutation(CatalogService.method.deleteProductImage);
  const images: ImageView[] = (list.data?.images ?? []).map((i) => ({
    id: String(i.id),
    url: i.thumbnail?.fallbackUrl || i.card?.fallbackUrl || "",
    webp: i.thumbnail?.webpUrl || undefined,
    alt: i.altText,
    primary: i.primary,
    width: i.thumbnail?.width || undefined,
    height: i.thumbnail?.height || undefined,
    status: i.status,
    failure: i.failure,
  }));
  return (
    <section aria-labelledby="images-title">
      <h2 id="images-title">Images</h2>
      {list.isPending && <Loading what="images" />}
      <ApiError error={list.error} />
      {list.data && (
        <ImageManager
          productName={product.name}
          api={{
            images,
            upload: async (file, alt) => {
              await uploadImage(product.id, file, alt);
              await refresh();
            },
            setPrimary: async (id) => {
              await update.mutateAsync({ productId: product.id, imageId: BigInt(id), primary: true });
              await refresh();
            },
            setAlt: async (id, alt) => {
              await update.mutateAsync({ productId: product.id, imageId: BigInt(id), altText: alt });
              await refresh();
            },
            remove: async (id) => {
              await del.mutateAsync({ productId: product.id, imageId: BigInt(id) });
              await refresh();
            },
          }}
        />
      )}
    </section>
  );
}
