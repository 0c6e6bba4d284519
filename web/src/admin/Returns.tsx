import { useId, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { InventoryService, type Location } from "../gen/shop/inventory/v1/inventory_pb";
import { ReturnService, type Return } from "../gen/shop/returns/v1/returns_pb";
import { fmtMinor, formatTime } from "./lib";
import { ApiError, ConfirmButton, Field, Loading, StatusBadge, StatusMessage } from "./ui";

const statuses = ["requested", "approved", "refused", "received", "refunded", "expired"];

function ReturnCard({ ret: r, locations, onDone }: { ret: Return; locations: Location[]; onDone: (message: string) => void }) {
  const qc = useQueryClient();
  const uid = useId();
  const [note, setNote] = useState("");
  const [receiving, setReceiving] = useState(false);
  const [lines, setLines] = useState(() =>
    r.lines.map((l) => ({ line: l.line, resellable: String(l.quantity), damaged: "0", location: l.locationId ? String(l.locationId) : "" })),
  );
  const ok = (res: { return?: Return }) => {
    onDone(`Return ${r.id} is now ${res.return?.status ?? "updated"}`);
    setReceiving(false);
    void qc.invalidateQueries();
  };
  const approve = useMutation(ReturnService.method.approveReturn, { onSuccess: ok });
  const refuse = useMutation(ReturnService.method.refuseReturn, { onSuccess: ok });
  const receive = useMutation(ReturnService.method.receiveReturn, { onSuccess: ok });
  const busy = approve.isPending || refuse.isPending || receive.isPending;
  const error = approve.error ?? refuse.error ?? receive.error;
  const cur = r.currency || "USD";

  return (
    <article className="card" aria-labelledby={`${uid}-h`}>
      <h2 id={`${uid}-h`}>
        Return {String(r.id)} <span className="sub">for <Link to={`/admin/orders/${r.orderId}`}>Order {String(r.orderId)}</Link></span>
      </h2>
      <p>
        <StatusBadge status={r.status} /> · customer {String(r.customerId)} · requested {formatTime(r.createdAt)}
        {r.decidedAt && ` · decided ${formatTime(r.decidedAt)}`}
        {r.receivedAt && ` · received ${formatTime(r.receivedAt)}`}
      </p>
      {r.reason && <p>Reason: {r.reason}</p>}
      {r.note && <p>Customer’s note: {r.note}</p>}
      {r.staffNote && <p>Staff note: {r.staffNote}</p>}
      <div className="table-wrap" tabIndex={0}>
        <table>
          <caption className="sr-only">Lines of return {String(r.id)}</caption>
          <thead>
            <tr>
              <th scope="col">Item</th>
              <th scope="col">Qty</th>
              <th scope="col">Unit price</th>
              <th scope="col">Reason</th>
              <th scope="col">Received</th>
            </tr>
          </thead>
          <tbody>
            {r.lines.map((l) => (
              <tr key={l.line}>
                <th scope="row">
                  {l.name} <span className="hint">({l.sku})</span>
                  {l.exchangeVariantId > 0n && <div>exchange for variant {String(l.exchangeVariantId)}</div>}
                </th>
                <td className="num">{l.quantity}</td>
                <td className="num">{fmtMinor(l.unitPriceMinor, cur)}</td>
                <td>{l.reason}</td>
                <td>{l.received ? `${l.resellable} resellable, ${l.damaged} damaged` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {(r.refundAmountMinor > 0n || r.restockingFeeMinor > 0n) && (
        <p>
          Refund {fmtMinor(r.refundAmountMinor, cur)}
          {r.restockingFeeMinor > 0n && ` (restocking fee ${fmtMinor(r.restockingFeeMinor, cur)})`}
          {r.shippingRefundMinor > 0n && `, shipping refunded ${fmtMinor(r.shippingRefundMinor, cur)}`}
        </p>
      )}
      {r.status === "requested" && (
        <div className="decide">
          <Field label={`Note to the customer about return ${r.id}`} maxLength={1000} value={note} onChange={(e) => setNote(e.target.value)} />
          <div className="row">
            <button type="button" className="primary" disabled={busy} onClick={() => approve.mutate({ id: r.id, note })}>
              Approve
            </button>
            <ConfirmButton
              label="Refuse"
              question={`Refuse return ${r.id}? The customer is emailed the note.`}
              confirmLabel="Yes, refuse"
              busy={busy}
              onConfirm={() => refuse.mutate({ id: r.id, note })}
            />
          </div>
        </div>
      )}
      {r.status === "approved" && !receiving && (
        <button type="button" disabled={busy} onClick={() => setReceiving(true)}>
          Mark received
        </button>
      )}
      {receiving && (
        <form
          aria-label={`Receive return ${r.id}`}
          onSubmit={(e) => {
            e.preventDefault();
            receive.mutate({
              id: r.id,
              note,
              lines: lines.map((l) => ({
                line: l.line,
                resellable: Number(l.resellable) || 0,
                damaged: Number(l.damaged) || 0,
                locationId: l.location ? BigInt(l.location) : 0n,
              })),
            });
          }}
        >
          {lines.map((l, i) => {
            const name = r.lines[i]?.name ?? `line ${l.line}`;
            const set = (patch: Partial<typeof l>) => setLines(lines.map((x, j) => (j === i ? { ...x, ...patch } : x)));
            return (
              <fieldset key={l.line} className="row">
                <legend>{name}</legend>
                <Field label={`Resellable units of ${name}`} type="number" min={0} max={99} value={l.resellable} onChange={(e) => set({ resellable: e.target.value })} />
                <Field label={`Damaged units of ${name}`} type="number" min={0} max={99} value={l.damaged} onChange={(e) => set({ damaged: e.target.value })} />
                <div className="field">
                  <label htmlFor={`${uid}-loc-${i}`}>Restock {name} at</label>
                  <select id={`${uid}-loc-${i}`} value={l.location} onChange={(e) => set({ location: e.target.value })}>
                    <option value="">Default location</option>
                    {locations.map((loc) => (
                      <option key={String(loc.id)} value={String(loc.id)}>
                        {loc.name} ({loc.code})
                      </option>
                    ))}
                  </select>
                </div>
              </fieldset>
            );
          })}
          <Field label={`Note on receiving return ${r.id}`} maxLength={1000} value={note} onChange={(e) => setNote(e.target.value)} />
          <div className="row">
            <button type="submit" className="primary" disabled={busy}>
              Confirm received
            </button>
            <button type="button" onClick={() => setReceiving(false)}>
              Close
            </button>
          </div>
        </form>
      )}
      <ApiError error={error} />
    </article>
  );
}

export default function Returns() {
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const order = params.get("order") ?? "";
  const after = params.get("after") ?? "";
  const [msg, setMsg] = useState("");
  const locations = useQuery(InventoryService.method.listLocations, {});
  const list = useQuery(ReturnService.method.listReturns, {
    status: status ? [status] : [],
    limit: 50,
    afterId: /^\d+$/.test(after) ? BigInt(after) : 0n,
  });
  const returns = (list.data?.returns ?? []).filter((r) => !order || String(r.orderId) === order);
  return (
    <>
      <h1>Returns</h1>
      <form
        className="filters"
        aria-label="Filter returns"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const next = new URLSearchParams();
          for (const k of ["status", "order"]) {
            const v = String(f.get(k) ?? "").trim();
            if (v) next.set(k, v);
          }
          setParams(next);
        }}
      >
        <div className="field">
          <label htmlFor="re-status">Status</label>
          <select id="re-status" name="status" defaultValue={status} key={status}>
            <option value="">Any status</option>
            {statuses.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="re-order">Order number</label>
          <input id="re-order" name="order" inputMode="numeric" defaultValue={order} key={order} />
        </div>
        <button type="submit">Filter</button>
      </form>
      {msg && <StatusMessage>{msg}</StatusMessage>}
      <ApiError error={list.error ?? locations.error} />
      {list.isPending && <Loading what="returns" />}
      {list.data && returns.length === 0 && <p role="status">No returns match.</p>}
      <div className="cards list">
        {returns.map((r) => (
          <ReturnCard key={`${r.id}-${r.status}`} ret={r} locations={locations.data?.locations ?? []} onDone={setMsg} />
        ))}
      </div>
      {list.data && list.data.nextAfterId > 0n && (
        <nav aria-label="Pages" className="pager">
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
        </nav>
      )}
    </>
  );
}
