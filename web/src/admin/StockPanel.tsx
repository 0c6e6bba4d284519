import { useId, useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { CatalogService, type Product } from "../gen/shop/catalog/v1/catalog_pb";
import { InventoryService } from "../gen/shop/inventory/v1/inventory_pb";
import { formatAttributes, formatTime } from "./lib";
import { ApiError, Field, Loading, StatusMessage } from "./ui";

/** A product's stock per location and variant, adjustments, transfers and the history. */
export function StockPanel({ product }: { product: Product }) {
  const qc = useQueryClient();
  const uid = useId();
  const stock = useQuery(InventoryService.method.getProductStock, { productId: product.id });
  const locations = useQuery(InventoryService.method.listLocations, {});
  const history = useQuery(CatalogService.method.listStockAdjustments, { productId: product.id, limit: 50 });
  const refresh = () => void qc.invalidateQueries();
  const adjust = useMutation(InventoryService.method.adjustLocationStock, { onSuccess: refresh });
  const transfer = useMutation(InventoryService.method.transferStock, { onSuccess: refresh });

  const variantName = (id: bigint) => {
    if (id === 0n) return `${product.name} (no variant)`;
    const v = product.variants.find((x) => x.id === id);
    return v ? `${v.sku} ${formatAttributes(v.attributes)}`.trim() : `variant ${id}`;
  };
  const locName = new Map((locations.data?.locations ?? []).map((l) => [l.id, `${l.name} (${l.code})`]));
  const variantOptions = [0n, ...product.variants.map((v) => v.id)];

  const [adj, setAdj] = useState({ location: "", variant: "0", delta: "", reason: "" });
  const [tr, setTr] = useState({ from: "", to: "", variant: "0", quantity: "", reason: "" });

  return (
    <div className="stock">
      {stock.isPending && <Loading what="stock" />}
      <ApiError error={stock.error ?? locations.error} />
      {stock.data && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption>
              Stock of {product.name} per location: {stock.data.stockQuantity} sellable
            </caption>
            <thead>
              <tr>
                <th scope="col">Location</th>
                <th scope="col">Item</th>
                <th scope="col">On hand</th>
                <th scope="col">Reserved</th>
                <th scope="col">Available</th>
              </tr>
            </thead>
            <tbody>
              {stock.data.levels.length === 0 && (
                <tr>
                  <td colSpan={5}>No stock at any location.</td>
                </tr>
              )}
              {stock.data.levels.map((l) => (
                <tr key={`${l.locationId}-${l.variantId}`}>
                  <th scope="row">
                    {locName.get(l.locationId) ?? l.locationCode}
                    {!l.locationActive && " (closed)"}
                  </th>
                  <td>{variantName(l.variantId)}</td>
                  <td className="num">{l.onHand}</td>
                  <td className="num">{l.reserved}</td>
                  <td className="num">{l.available}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <div className="two-col">
        <form
          className="card"
          aria-labelledby={`${uid}-adj`}
          onSubmit={(e) => {
            e.preventDefault();
            adjust.mutate({
              productId: product.id,
              locationId: adj.location ? BigInt(adj.location) : 0n,
              variantId: BigInt(adj.variant),
              delta: Number(adj.delta),
              reason: adj.reason,
            });
          }}
        >
          <h3 id={`${uid}-adj`}>Adjust stock</h3>
          <div className="field">
            <label htmlFor={`${uid}-al`}>Location</label>
            <select id={`${uid}-al`} value={adj.location} onChange={(e) => setAdj({ ...adj, location: e.target.value })}>
              <option value="">Default location</option>
              {locations.data?.locations.map((l) => (
                <option key={String(l.id)} value={String(l.id)}>
                  {l.name} ({l.code})
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={`${uid}-av`}>Item</label>
            <select id={`${uid}-av`} value={adj.variant} onChange={(e) => setAdj({ ...adj, variant: e.target.value })}>
              {variantOptions.map((v) => (
                <option key={String(v)} value={String(v)}>
                  {variantName(v)}
                </option>
              ))}
            </select>
          </div>
          <Field label="Change (units, negative to remove)" type="number" step={1} required value={adj.delta} onChange={(e) => setAdj({ ...adj, delta: e.target.value })} />
          <Field label="Reason" required maxLength={500} value={adj.reason} onChange={(e) => setAdj({ ...adj, reason: e.target.value })} />
          <button type="submit" disabled={adjust.isPending}>
            Adjust stock
          </button>
          <ApiError error={adjust.error} />
          {adjust.isSuccess && <StatusMessage>Stock adjusted: {adjust.data.level?.onHand} on hand at {adjust.data.level?.locationCode}</StatusMessage>}
        </form>

        <form
          className="card"
          aria-labelledby={`${uid}-tr`}
          onSubmit={(e) => {
            e.preventDefault();
            transfer.mutate({
              productId: product.id,
              variantId: BigInt(tr.variant),
              fromLocationId: tr.from ? BigInt(tr.from) : 0n,
              toLocationId: tr.to ? BigInt(tr.to) : 0n,
              quantity: Number(tr.quantity),
              reason: tr.reason,
            });
          }}
        >
          <h3 id={`${uid}-tr`}>Transfer stock</h3>
          {(["from", "to"] as const).map((k) => (
            <div className="field" key={k}>
              <label htmlFor={`${uid}-t${k}`}>{k === "from" ? "From location" : "To location"}</label>
              <select id={`${uid}-t${k}`} required value={tr[k]} onChange={(e) => setTr({ ...tr, [k]: e.target.value })}>
                <option value="">Choose…</option>
                {locations.data?.locations.map((l) => (
                  <option key={String(l.id)} value={String(l.id)}>
                    {l.name} ({l.code})
                  </option>
                ))}
              </select>
            </div>
          ))}
          <div className="field">
            <label htmlFor={`${uid}-tv`}>Item to move</label>
            <select id={`${uid}-tv`} value={tr.variant} onChange={(e) => setTr({ ...tr, variant: e.target.value })}>
              {variantOptions.map((v) => (
                <option key={String(v)} value={String(v)}>
                  {variantName(v)}
                </option>
              ))}
            </select>
          </div>
          <Field label="Units to move" type="number" min={1} step={1} required value={tr.quantity} onChange={(e) => setTr({ ...tr, quantity: e.target.value })} />
          <Field label="Transfer reason" required maxLength={500} value={tr.reason} onChange={(e) => setTr({ ...tr, reason: e.target.value })} />
          <button type="submit" disabled={transfer.isPending}>
            Transfer stock
          </button>
          <ApiError error={transfer.error} />
          {transfer.isSuccess && <StatusMessage>Moved {tr.quantity} units</StatusMessage>}
        </form>
      </div>

      <ApiError error={history.error} />
      {history.data && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption>Stock history of {product.name} (newest first)</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Item</th>
                <th scope="col">Location</th>
                <th scope="col">Change</th>
                <th scope="col">Stock after</th>
                <th scope="col">Reason</th>
                <th scope="col">By user</th>
              </tr>
            </thead>
            <tbody>
              {history.data.adjustments.length === 0 && (
                <tr>
                  <td colSpan={7}>No adjustments yet.</td>
                </tr>
              )}
              {history.data.adjustments.map((a) => (
                <tr key={String(a.id)}>
                  <th scope="row">{formatTime(a.createdAt)}</th>
                  <td>{variantName(a.variantId)}</td>
                  <td>{locName.get(a.locationId) ?? String(a.locationId)}</td>
                  <td className="num">{a.delta > 0 ? `+${a.delta}` : a.delta}</td>
                  <td className="num">{a.stockAfter}</td>
                  <td>{a.reason}</td>
                  <td>{a.actorUserId ? String(a.actorUserId) : "system"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
