import { useState } from "react";
import { useSearchParams } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { FulfilmentService } from "../gen/shop/fulfilment/v1/fulfilment_pb";
import { InventoryService } from "../gen/shop/inventory/v1/inventory_pb";
import { ApiError, Loading, StatusMessage } from "./ui";
import { ShipmentCard } from "./ShipmentCard";

const statuses = ["pending", "picked", "packed", "shipped", "in_transit", "out_for_delivery", "delivered", "lost", "cancelled"];

export default function Fulfilment() {
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const location = params.get("location") ?? "";
  const order = params.get("order") ?? "";
  const overdue = params.get("overdue") === "1";
  const after = params.get("after") ?? "";
  const [msg, setMsg] = useState("");
  const locations = useQuery(InventoryService.method.listLocations, {});
  const list = useQuery(
    FulfilmentService.method.listShipments,
    {
      status: status ? [status] : [],
      locationId: /^\d+$/.test(location) ? BigInt(location) : 0n,
      orderId: /^\d+$/.test(order) ? BigInt(order) : 0n,
      overdue,
      afterId: /^\d+$/.test(after) ? BigInt(after) : 0n,
      limit: 50,
    },
    { refetchInterval: 15_000 },
  );

  return (
    <>
      <h1>Fulfilment</h1>
      <form
        className="filters"
        aria-label="Filter shipments"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const next = new URLSearchParams();
          for (const k of ["status", "location", "order"]) {
            const v = String(f.get(k) ?? "").trim();
            if (v) next.set(k, v);
          }
          if (f.get("overdue")) next.set("overdue", "1");
          setParams(next);
        }}
      >
        <div className="field">
          <label htmlFor="fu-status">Status</label>
          <select id="fu-status" name="status" defaultValue={status} key={status}>
            <option value="">To send (pending, picked, packed)</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s.replaceAll("_", " ")}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="fu-loc">Location</label>
          <select id="fu-loc" name="location" defaultValue={location} key={location}>
            <option value="">Every location</option>
            {locations.data?.locations.map((l) => (
              <option key={String(l.id)} value={String(l.id)}>
                {l.name} ({l.code})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="fu-order">Order number</label>
          <input id="fu-order" name="order" inputMode="numeric" defaultValue={order} key={order} />
        </div>
        <div className="field checkbox">
          <input id="fu-over" name="overdue" type="checkbox" defaultChecked={overdue} key={String(overdue)} />
          <label htmlFor="fu-over">Overdue only</label>
        </div>
        <button type="submit">Filter</button>
      </form>
      {msg && <StatusMessage>{msg}</StatusMessage>}
      <ApiError error={list.error} />
      {list.isPending && <Loading what="shipments" />}
      {list.data && list.data.shipments.length === 0 && <p role="status">Nothing to send. The queue is empty.</p>}
      <div className="cards">
        {list.data?.shipments.map((s) => (
          <ShipmentCard key={String(s.id)} shipment={s} onDone={setMsg} />
        ))}
      </div>
      {list.data && (after || list.data.nextAfterId > 0n) && (
        <nav aria-label="Pages" className="pager">
          {after && (
            <button
              type="button"
              onClick={() => {
                const next = new URLSearchParams(params);
                next.delete("after");
                setParams(next);
              }}
            >
              First page
            </button>
          )}
          {list.data.nextAfterId > 0n && (
            <button
              type="button"
              onClick={() => {
                const next = new URLSearchParams(params);
                next.set("after", String(list.data.nextAfterId));
                setParams(next);
              }}
            >
              Next page
            </button>
          )}
        </nav>
      )}
    </>
  );
}
