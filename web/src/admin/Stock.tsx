import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb";
import { InventoryService, type Location } from "../gen/shop/inventory/v1/inventory_pb";
import { AdminOnlyNote, ApiError, Field, Loading, StatusMessage, useIsAdmin } from "./ui";
import { StockPanel } from "./StockPanel";

type Draft = { name: string; code: string; address: string; country: string; priority: string; active: boolean };

function LocationForm({ location, onDone, onCancel }: { location?: Location; onDone: () => void; onCancel?: () => void }) {
  const isAdmin = useIsAdmin();
  const qc = useQueryClient();
  const [d, setD] = useState<Draft>({
    name: location?.name ?? "",
    code: location?.code ?? "",
    address: location?.address ?? "",
    country: location?.country ?? "",
    priority: String(location?.priority ?? 0),
    active: location?.active ?? true,
  });
  const ok = () => {
    void qc.invalidateQueries();
    onDone();
  };
  const createM = useMutation(InventoryService.method.createLocation, { onSuccess: ok });
  const updateM = useMutation(InventoryService.method.updateLocation, { onSuccess: ok });
  const error = createM.error ?? updateM.error;
  const title = location ? `Edit location ${location.code}` : "New location";
  return (
    <form
      className="card form-grid"
      aria-label={title}
      onSubmit={(e) => {
        e.preventDefault();
        const fields = { name: d.name, code: d.code, address: d.address, country: d.country.toUpperCase(), priority: Number(d.priority) || 0, active: d.active };
        if (location) updateM.mutate({ id: location.id, ...fields });
        else createM.mutate(fields);
      }}
    >
      <h2 className="wide">{title}</h2>
      <Field label="Location name" required value={d.name} onChange={(e) => setD({ ...d, name: e.target.value })} apiError={error} apiField="name" />
      <Field label="Code" required maxLength={32} value={d.code} onChange={(e) => setD({ ...d, code: e.target.value })} apiError={error} apiField="code" />
      <Field label="Address" value={d.address} onChange={(e) => setD({ ...d, address: e.target.value })} />
      <Field label="Country code" maxLength={2} value={d.country} onChange={(e) => setD({ ...d, country: e.target.value })} apiError={error} apiField="country" />
      <Field label="Priority (lower serves first)" type="number" step={1} value={d.priority} onChange={(e) => setD({ ...d, priority: e.target.value })} />
      <div className="field checkbox">
        <input id={`loc-active-${location?.id ?? "new"}`} type="checkbox" checked={d.active} onChange={(e) => setD({ ...d, active: e.target.checked })} />
        <label htmlFor={`loc-active-${location?.id ?? "new"}`}>Open (its stock is for sale)</label>
      </div>
      <div className="wide row">
        <button type="submit" className="primary" disabled={!isAdmin || createM.isPending || updateM.isPending}>
          Save location
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel editing
          </button>
        )}
      </div>
      <div className="wide">
        <ApiError error={error} />
      </div>
    </form>
  );
}

function ProductStockLookup() {
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const productId = params.get("product") ?? "";
  const found = useQuery(CatalogService.method.listProducts, { search: q, limit: 10 }, { enabled: q !== "" });
  const product = useQuery(CatalogService.method.getProduct, { productId: productId ? BigInt(productId) : 0n }, { enabled: /^\d+$/.test(productId) });
  return (
    <section aria-labelledby="ps-title">
      <h2 id="ps-title">Product stock</h2>
      <form
        role="search"
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const v = String(new FormData(e.currentTarget).get("q") ?? "").trim();
          setParams(v ? { q: v } : {});
        }}
      >
        <div className="field">
          <label htmlFor="ps-q">Find a product</label>
          <input id="ps-q" name="q" type="search" defaultValue={q} key={q} />
        </div>
        <button type="submit">Find</button>
      </form>
      <ApiError error={found.error} />
      {found.data && (
        <ul className="plain">
          {found.data.products.length === 0 && <li>No products match “{q}”.</li>}
          {found.data.products.map((p) => (
            <li key={String(p.id)}>
              <Link to={`?q=${encodeURIComponent(q)}&product=${p.id}`}>
                {p.name} ({p.sku}), {p.stockQuantity} in stock
              </Link>
            </li>
          ))}
        </ul>
      )}
      {product.isFetching && <Loading what="stock" />}
      <ApiError error={product.error} />
      {product.data?.product && (
        <>
          <h3>
            <Link to={`/admin/products/${product.data.product.id}`}>{product.data.product.name}</Link>
          </h3>
          <StockPanel product={product.data.product} />
        </>
      )}
    </section>
  );
}

export default function Stock() {
  const isAdmin = useIsAdmin();
  const locations = useQuery(InventoryService.method.listLocations, {});
  const [editing, setEditing] = useState<bigint | null>(null);
  const [msg, setMsg] = useState("");
  return (
    <>
      <h1>Stock</h1>
      <section aria-labelledby="loc-title">
        <h2 id="loc-title">Locations</h2>
        {!isAdmin && <AdminOnlyNote what="add or change locations" />}
        {msg && <StatusMessage>{msg}</StatusMessage>}
        {locations.isPending && <Loading what="locations" />}
        <ApiError error={locations.error} />
        {locations.data && (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption>Stock locations, in the order they serve orders</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Code</th>
                  <th scope="col">Address</th>
                  <th scope="col">Country</th>
                  <th scope="col">Priority</th>
                  <th scope="col">State</th>
                  <th scope="col">Edit</th>
                </tr>
              </thead>
              <tbody>
                {locations.data.locations.map((l) => (
                  <tr key={String(l.id)}>
                    <th scope="row">
                      {l.name}
                      {l.isDefault && " (default)"}
                    </th>
                    <td>{l.code}</td>
                    <td>{l.address}</td>
                    <td>{l.country}</td>
                    <td className="num">{l.priority}</td>
                    <td>{l.active ? "open" : "closed"}</td>
                    <td>
                      <button type="button" disabled={!isAdmin} onClick={() => setEditing(l.id)}>
                        Edit {l.code}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {editing !== null &&
          locations.data?.locations
            .filter((l) => l.id === editing)
            .map((l) => (
              <LocationForm
                key={String(l.id)}
                location={l}
                onCancel={() => setEditing(null)}
                onDone={() => {
                  setEditing(null);
                  setMsg(`Location ${l.code} saved`);
                }}
              />
            ))}
        {isAdmin && <LocationForm key={msg} onDone={() => setMsg("Location saved")} />}
      </section>
      <ProductStockLookup />
    </>
  );
}
