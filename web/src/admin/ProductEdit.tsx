import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { create } from "@bufbuild/protobuf";
import { CatalogService, MoneySchema, type Product, type Variant } from "../gen/shop/catalog/v1/catalog_pb";
import { formatMoney } from "../money";
import { formatAttributes, parseAttributes, parseMoneyInput } from "./lib";
import { AdminOnlyNote, ApiError, ConfirmButton, Field, FieldError, Loading, MoneyInput, StatusMessage, moneyText, useIsAdmin } from "./ui";
import { StockPanel } from "./StockPanel";
import { ProductImages } from "./ProductImages";

export default function ProductEdit() {
  const { productId } = useParams();
  const isNew = productId === undefined;
  const id = isNew || !/^\d+$/.test(productId) ? 0n : BigInt(productId);
  const product = useQuery(CatalogService.method.getProduct, { productId: id }, { enabled: id > 0n });
  if (isNew) return <ProductForm />;
  if (id === 0n) return <h1>Product not found</h1>;
  if (product.isPending) return <Loading what="the product" />;
  if (product.error || !product.data.product)
    return (
      <>
        <h1>Product {productId}</h1>
        <ApiError error={product.error} />
      </>
    );
  const p = product.data.product;
  return (
    <>
      <ProductForm product={p} key={String(p.id)} />
      <ProductImages product={p} />
      <VariantsPanel product={p} />
      <section aria-labelledby="stock-title" id="stock">
        <h2 id="stock-title">Stock</h2>
        <StockPanel product={p} />
      </section>
    </>
  );
}

type Attr = { k: string; v: string };

function AttributesEditor({ rows, onChange }: { rows: Attr[]; onChange: (r: Attr[]) => void }) {
  return (
    <fieldset className="attrs">
      <legend>Attributes</legend>
      {rows.length === 0 && <p className="hint">No attributes.</p>}
      {rows.map((r, i) => (
        <div className="row" key={i}>
          <Field label={`Attribute name ${i + 1}`} value={r.k} onChange={(e) => onChange(rows.map((x, j) => (j === i ? { ...x, k: e.target.value } : x)))} />
          <Field label={`Attribute value ${i + 1}`} value={r.v} onChange={(e) => onChange(rows.map((x, j) => (j === i ? { ...x, v: e.target.value } : x)))} />
          <button type="button" onClick={() => onChange(rows.filter((_, j) => j !== i))}>
            Remove attribute {i + 1}
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, { k: "", v: "" }])}>
        Add attribute
      </button>
    </fieldset>
  );
}

function ProductForm({ product }: { product?: Product }) {
  const isAdmin = useIsAdmin();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const cats = useQuery(CatalogService.method.listCategories, {});
  const [sku, setSku] = useState(product?.sku ?? "");
  const [name, setName] = useState(product?.name ?? "");
  const [description, setDescription] = useState(product?.description ?? "");
  const [brand, setBrand] = useState(product?.brand ?? "");
  const [categoryId, setCategoryId] = useState(product ? String(product.categoryId) : "");
  const [currency, setCurrency] = useState(product?.priceMoney?.currency || "USD");
  const [price, setPrice] = useState(product?.priceMoney ? moneyText(product.priceMoney.amountMinor, product.priceMoney.currency) : "");
  const [stock, setStock] = useState("0");
  const [attrs, setAttrs] = useState<Attr[]>(Object.entries(product?.attributes ?? {}).map(([k, v]) => ({ k, v })));
  const [formError, setFormError] = useState("");
  const [saved, setSaved] = useState("");
  const createM = useMutation(CatalogService.method.createProduct);
  const updateM = useMutation(CatalogService.method.updateProduct);
  const archiveM = useMutation(CatalogService.method.archiveProduct);
  const error = createM.error ?? updateM.error ?? archiveM.error;
  const canSave = product ? true : isAdmin;

  function submit(e: React.FormEvent) {
    e.preventDefault();
    setSaved("");
    const pm = parseMoneyInput(price, currency.trim().toUpperCase());
    if (!pm.ok) return setFormError(`Price: ${pm.error}`);
    const attributes: Record<string, string> = {};
    for (const a of attrs) {
      if (!a.k.trim()) {
        if (a.v.trim()) return setFormError("Every attribute needs a name");
        continue;
      }
      attributes[a.k.trim()] = a.v.trim();
    }
    setFormError("");
    const priceMoney = create(MoneySchema, { amountMinor: pm.value, currency: currency.trim().toUpperCase() });
    const cat = categoryId ? BigInt(categoryId) : 0n;
    if (!product) {
      const qty = Number(stock);
      if (!Number.isInteger(qty) || qty < 0) return setFormError("Initial stock must be a whole number, 0 or more");
      createM.mutate(
        { sku, name, description, brand, categoryId: cat, priceMoney, stockQuantity: qty, attributes },
        {
          onSuccess: (r) => {
            void qc.invalidateQueries();
            navigate(`/admin/products/${r.product?.id ?? ""}`);
          },
        },
      );
      return;
    }
    const hadAttrs = Object.keys(product.attributes).length > 0;
    const noAttrs = Object.keys(attributes).length === 0;
    updateM.mutate(
      {
        productId: product.id,
        name,
        description,
        brand,
        categoryId: cat,
        priceMoney,
        attributes,
        clearAttributes: hadAttrs && noAttrs,
      },
      {
        onSuccess: () => {
          setSaved("Product saved");
          void qc.invalidateQueries();
        },
      },
    );
  }

  return (
    <>
      <p>
        <Link to="/admin/products">← Products</Link>
      </p>
      <h1>{product ? product.name : "New product"}</h1>
      {product && (
        <p className="meta">
          Product {String(product.id)} · {product.active ? "active" : "archived"} · stock {product.stockQuantity} ·{" "}
          <Link to={`/p/${product.id}`}>View in the shop</Link>
        </p>
      )}
      {!canSave && <AdminOnlyNote what="create products" />}
      <form onSubmit={submit} className="card form-grid" aria-label={product ? "Edit product" : "New product"}>
        <Field label="SKU" value={sku} onChange={(e) => setSku(e.target.value)} disabled={!!product} required={!product} apiError={error} apiField="sku" />
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} required apiError={error} apiField="name" />
        <div className="field wide">
          <label htmlFor="pf-desc">Description</label>
          <textarea id="pf-desc" rows={4} value={description} onChange={(e) => setDescription(e.target.value)} />
          <FieldError error={error} field="description" />
        </div>
        <Field label="Brand" value={brand} onChange={(e) => setBrand(e.target.value)} apiError={error} apiField="brand" />
        <div className="field">
          <label htmlFor="pf-cat">Category</label>
          <select id="pf-cat" value={categoryId} required={!product} onChange={(e) => setCategoryId(e.target.value)}>
            <option value="">{product ? "None" : "Choose…"}</option>
            {cats.data?.categories.map((c) => (
              <option key={String(c.id)} value={String(c.id)}>
                {c.name}
              </option>
            ))}
          </select>
          <FieldError error={error} field="category_id" />
        </div>
        <Field label="Currency" value={currency} onChange={(e) => setCurrency(e.target.value)} maxLength={3} required disabled={!!product} />
        <MoneyInput label="Price" value={price} onChange={setPrice} currency={currency.trim().toUpperCase() || "USD"} required />
        {!product && <Field label="Initial stock" type="number" min={0} step={1} value={stock} onChange={(e) => setStock(e.target.value)} />}
        <div className="wide">
          <AttributesEditor rows={attrs} onChange={setAttrs} />
        </div>
        <div className="wide row">
          <button type="submit" className="primary" disabled={!canSave || createM.isPending || updateM.isPending}>
            {product ? "Save product" : "Create product"}
          </button>
          {product && product.active && (
            <ConfirmButton
              label="Archive product"
              question={`Archive ${product.name}? It disappears from the storefront.`}
              confirmLabel="Yes, archive"
              disabled={!isAdmin}
              busy={archiveM.isPending}
              onConfirm={() =>
                archiveM.mutate(
                  { productId: product.id },
                  {
                    onSuccess: () => {
                      setSaved("Product archived");
                      void qc.invalidateQueries();
                    },
                  },
                )
              }
            />
          )}
          {product && !product.active && (
            <button
              type="button"
              onClick={() =>
                updateM.mutate({ productId: product.id, active: true }, { onSuccess: () => void qc.invalidateQueries() })
              }
            >
              Restore product
            </button>
          )}
        </div>
        {product && !isAdmin && <AdminOnlyNote what="archive products" />}
      </form>
      {formError && (
        <p role="alert" className="error">
          {formError}
        </p>
      )}
      <ApiError error={error} />
      {saved && <StatusMessage>{saved}</StatusMessage>}
    </>
  );
}

function VariantRow({ product, variant }: { product: Product; variant: Variant }) {
  const qc = useQueryClient();
  const currency = product.priceMoney?.currency || "USD";
  const [sku, setSku] = useState(variant.sku);
  const [attrs, setAttrs] = useState(formatAttributes(variant.attributes));
  const [price, setPrice] = useState(variant.priceMoney ? moneyText(variant.priceMoney.amountMinor, currency) : "");
  const [active, setActive] = useState(variant.active);
  const [problem, setProblem] = useState("");
  const m = useMutation(CatalogService.method.updateVariant, { onSuccess: () => void qc.invalidateQueries() });
  const label = variant.sku || `variant ${variant.id}`;
  return (
    <tr>
      <th scope="row">{String(variant.id)}</th>
      <td>
        <label className="sr-only" htmlFor={`v-sku-${variant.id}`}>
          SKU of {label}
        </label>
        <input id={`v-sku-${variant.id}`} value={sku} onChange={(e) => setSku(e.target.value)} />
      </td>
      <td>
        <label className="sr-only" htmlFor={`v-at-${variant.id}`}>
          Attributes of {label}
        </label>
        <input id={`v-at-${variant.id}`} value={attrs} onChange={(e) => setAttrs(e.target.value)} />
      </td>
      <td>
        <label className="sr-only" htmlFor={`v-pr-${variant.id}`}>
          Price of {label} ({currency}, empty for the product's)
        </label>
        <input id={`v-pr-${variant.id}`} inputMode="decimal" value={price} placeholder={product.price} onChange={(e) => setPrice(e.target.value)} />
      </td>
      <td className="num">{variant.stockQuantity}</td>
      <td>
        <input id={`v-ac-${variant.id}`} type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
        <label htmlFor={`v-ac-${variant.id}`}>
          <span className="sr-only">{label} </span>active
        </label>
      </td>
      <td>
        <button
          type="button"
          disabled={m.isPending}
          onClick={() => {
            const a = parseAttributes(attrs);
            if (!a.ok) return setProblem(a.error);
            let priceMinor: bigint | undefined;
            if (price.trim()) {
              const p = parseMoneyInput(price, currency);
              if (!p.ok) return setProblem(`Price: ${p.error}`);
              priceMinor = p.value;
            }
            setProblem("");
            m.mutate({ productId: product.id, variantId: variant.id, sku, attributes: a.value, priceMinor, active });
          }}
        >
          Save {label}
        </button>
        {problem && (
          <span role="alert" className="field-error">
            {problem}
          </span>
        )}
        <ApiError error={m.error} />
        {m.isSuccess && <StatusMessage>Saved</StatusMessage>}
      </td>
    </tr>
  );
}

function VariantsPanel({ product }: { product: Product }) {
  const qc = useQueryClient();
  const currency = product.priceMoney?.currency || "USD";
  const [sku, setSku] = useState("");
  const [attrs, setAttrs] = useState("");
  const [price, setPrice] = useState("");
  const [stock, setStock] = useState("0");
  const [problem, setProblem] = useState("");
  const m = useMutation(CatalogService.method.createVariant, {
    onSuccess: () => {
      setSku("");
      setAttrs("");
      setPrice("");
      setStock("0");
      void qc.invalidateQueries();
    },
  });
  return (
    <section aria-labelledby="variants-title">
      <h2 id="variants-title">Variants</h2>
      <div className="table-wrap" tabIndex={0}>
        <table>
          <caption>Variants of {product.name} (attributes as Name=Value, comma separated)</caption>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">SKU</th>
              <th scope="col">Attributes</th>
              <th scope="col">Price</th>
              <th scope="col">Stock</th>
              <th scope="col">Active</th>
              <th scope="col">Save</th>
            </tr>
          </thead>
          <tbody>
            {product.variants.length === 0 && (
              <tr>
                <td colSpan={7}>No variants: the product is sold as it is.</td>
              </tr>
            )}
            {product.variants.map((v) => (
              <VariantRow key={`${v.id}-${v.sku}-${v.active}-${v.price}`} product={product} variant={v} />
            ))}
          </tbody>
        </table>
      </div>
      <form
        className="card form-grid"
        aria-labelledby="nv-title"
        onSubmit={(e) => {
          e.preventDefault();
          const a = parseAttributes(attrs);
          if (!a.ok) return setProblem(a.error);
          let priceMinor: bigint | undefined;
          if (price.trim()) {
            const p = parseMoneyInput(price, currency);
            if (!p.ok) return setProblem(`Price: ${p.error}`);
            priceMinor = p.value;
          }
          const qty = Number(stock);
          if (!Number.isInteger(qty) || qty < 0) return setProblem("Stock must be a whole number, 0 or more");
          setProblem("");
          m.mutate({ productId: product.id, sku, attributes: a.value, priceMinor, stockQuantity: qty });
        }}
      >
        <h3 id="nv-title" className="wide">
          Add a variant
        </h3>
        <Field label="Variant SKU" value={sku} onChange={(e) => setSku(e.target.value)} required />
        <Field label="Variant attributes" placeholder="Size=M, Colour=Red" value={attrs} onChange={(e) => setAttrs(e.target.value)} />
        <MoneyInput label="Variant price" value={price} onChange={setPrice} currency={currency} hint={`Empty: the product's price (${formatMoney(product.priceMoney)})`} />
        <Field label="Variant stock" type="number" min={0} value={stock} onChange={(e) => setStock(e.target.value)} />
        <div className="wide">
          <button type="submit" disabled={m.isPending}>
            Add variant
          </button>
        </div>
      </form>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <ApiError error={m.error} />
      {m.isSuccess && <StatusMessage>Variant added</StatusMessage>}
    </section>
  );
}
