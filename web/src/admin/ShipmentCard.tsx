import { useId, useState } from "react";
import { TrackingNumber } from "../components/TrackingNumber";
import { Link } from "react-router";
import { useMutation } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { FulfilmentService, type Shipment } from "../gen/shop/fulfilment/v1/fulfilment_pb";
import { formatTime, shipmentActions } from "./lib";
import { ApiError, ConfirmButton, Field, StatusBadge, StatusMessage } from "./ui";

/** One shipment of the fulfilment queue with the steps its status allows. */
export function ShipmentCard({ shipment: s, onDone }: { shipment: Shipment; onDone?: (message: string) => void }) {
  const qc = useQueryClient();
  const uid = useId();
  const [shipping, setShipping] = useState(false);
  const [reporting, setReporting] = useState(false);
  const [ship, setShip] = useState({ carrier: "", service: "", tracking: "", url: "" });
  const [note, setNote] = useState("");
  const [done, setDone] = useState("");
  const ok = (what: string) => () => {
    setDone(what);
    onDone?.(`Order ${s.orderId}, shipment ${s.id}: ${what.toLowerCase()}`);
    setShipping(false);
    setReporting(false);
    void qc.invalidateQueries();
  };
  const pick = useMutation(FulfilmentService.method.pickShipment, { onSuccess: ok("Picked") });
  const pack = useMutation(FulfilmentService.method.packShipment, { onSuccess: ok("Packed") });
  const shipM = useMutation(FulfilmentService.method.shipShipment, { onSuccess: ok("Shipped") });
  const deliver = useMutation(FulfilmentService.method.deliverShipment, { onSuccess: ok("Delivered") });
  const problem = useMutation(FulfilmentService.method.reportShipmentProblem, { onSuccess: ok("Problem recorded") });
  const resolve = useMutation(FulfilmentService.method.resolveLostShipment, { onSuccess: ok("Lost parcel resolved") });
  const busy = pick.isPending || pack.isPending || shipM.isPending || deliver.isPending || problem.isPending || resolve.isPending;
  const error = pick.error ?? pack.error ?? shipM.error ?? deliver.error ?? problem.error ?? resolve.error;
  const can = shipmentActions(s.status);
  const headingId = `${uid}-h`;

  return (
    <article className={`card shipment${s.overdue ? " overdue" : ""}`} aria-labelledby={headingId}>
      <h2 id={headingId}>
        Order {String(s.orderId)} <span className="sub">shipment {String(s.id)}</span>
      </h2>
      <p>
        <StatusBadge status={s.status} /> from <strong>{s.locationCode}</strong> · created {formatTime(s.createdAt)}
        {s.overdue && <strong className="warn"> · overdue</strong>}
        {s.replacesId > 0n && ` · replaces shipment ${s.replacesId}`}
      </p>
      <ul className="lines">
        {s.lines.map((l) => (
          <li key={l.line}>
            {l.quantity} × {l.name} <span className="hint">({l.sku})</span>
          </li>
        ))}
      </ul>
      {s.trackingNumber && (
        <p>
          {s.carrier} {s.service} · Tracking number <TrackingNumber number={s.trackingNumber} url={s.trackingUrl} />
        </p>
      )}
      {s.problem && <p className="warn">Problem: {s.problem}</p>}
      {s.resolution && <p>Resolved: {s.resolution}</p>}
      <div className="row">
        {can.pick && (
          <button type="button" disabled={busy} onClick={() => pick.mutate({ id: s.id })}>
            Pick
          </button>
        )}
        {can.pack && (
          <button type="button" disabled={busy} onClick={() => pack.mutate({ id: s.id })}>
            Pack
          </button>
        )}
        {can.ship && !shipping && (
          <button type="button" disabled={busy} onClick={() => setShipping(true)}>
            Ship
          </button>
        )}
        {can.deliver && (
          <button type="button" disabled={busy} onClick={() => deliver.mutate({ id: s.id })}>
            Mark delivered
          </button>
        )}
        {can.resolveLost && !s.resolution && (
          <>
            <button type="button" disabled={busy} onClick={() => resolve.mutate({ id: s.id, action: "reship" })}>
              Reship
            </button>
            <ConfirmButton
              label="Refund lost items"
              question={`Refund the lost items of order ${s.orderId} to the customer?`}
              confirmLabel="Yes, refund them"
              busy={busy}
              onConfirm={() => resolve.mutate({ id: s.id, action: "refund" })}
            />
          </>
        )}
        {can.problem && !reporting && (
          <button type="button" disabled={busy} onClick={() => setReporting(true)}>
            Report problem
          </button>
        )}
        <Link to={`/admin/orders/${s.orderId}`}>Open order {String(s.orderId)}</Link>
      </div>
      {shipping && (
        <form
          className="form-grid"
          aria-label={`Ship order ${s.orderId}`}
          onSubmit={(e) => {
            e.preventDefault();
            shipM.mutate({ id: s.id, carrier: ship.carrier.trim(), service: ship.service.trim(), trackingNumber: ship.tracking.trim(), trackingUrl: ship.url.trim() });
          }}
        >
          <Field label="Carrier" required maxLength={50} value={ship.carrier} onChange={(e) => setShip({ ...ship, carrier: e.target.value })} apiError={shipM.error} apiField="carrier" />
          <Field label="Tracking number" required maxLength={100} value={ship.tracking} onChange={(e) => setShip({ ...ship, tracking: e.target.value })} apiError={shipM.error} apiField="tracking_number" />
          <Field label="Service (optional)" value={ship.service} onChange={(e) => setShip({ ...ship, service: e.target.value })} />
          <Field label="Tracking URL (optional)" type="url" value={ship.url} onChange={(e) => setShip({ ...ship, url: e.target.value })} apiError={shipM.error} apiField="tracking_url" />
          <div className="wide row">
            <button type="submit" className="primary" disabled={busy}>
              Confirm shipment
            </button>
            <button type="button" onClick={() => setShipping(false)}>
              Cancel shipping
            </button>
          </div>
        </form>
      )}
      {reporting && (
        <form
          className="row"
          aria-label={`Report a problem with shipment ${s.id}`}
          onSubmit={(e) => {
            e.preventDefault();
            problem.mutate({ id: s.id, note });
          }}
        >
          <Field label="Problem" required maxLength={1000} value={note} onChange={(e) => setNote(e.target.value)} />
          <button type="submit" disabled={busy}>
            Record problem
          </button>
          <button type="button" onClick={() => setReporting(false)}>
            Close
          </button>
        </form>
      )}
      <ApiError error={error} />
      {done && <StatusMessage>{done}</StatusMessage>}
    </article>
  );
}
