import { useId, useState, type FormEvent } from "react";
import { useTitle } from "../components/useTitle";
import { Link, Navigate, useLocation, useParams } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { OrderService, type Order } from "../gen/shop/order/v1/order_pb";
import { ReturnService } from "../gen/shop/returns/v1/returns_pb";
import { CartTotals } from "../components/CartTotals";
import { Loading } from "../components/Loading";
import { NotFound } from "../components/NotFound";
import { errorMessage } from "../api/errors";
import { formatMoney } from "../money";
import { useSignedIn } from "../auth/useSession";
import { PaymentSection } from "./PaymentSection";
import { TrackingNumber } from "../components/TrackingNumber";
import { formatTime, isCancellable, isReturnable, isSettled, statusLabel } from "./orderStatus";

const closedReturnStatuses = new Set(["refused", "refunded", "expired"]);

export default function OrderPage() {
  const { orderId = "" } = useParams();
  useTitle(`Order ${orderId}`);
  const signedIn = useSignedIn();
  const valid = /^[1-9]\d{0,18}$/.test(orderId);
  const id = valid ? BigInt(orderId) : 0n;
  const res = useQuery(
    OrderService.method.getOrder,
    { orderId: id },
    {
      enabled: valid && signedIn,
      // Follow the order while it still moves (payment, shipping).
      refetchInterval: (q) => {
        const s = q.state.data?.order?.status;
        if (!s || isSettled(s)) return false;
        if (s === "awaiting_payment") return 2000;
        // On its way: the next change (delivery) is days away.
        return s === "shipped" || s === "partially_shipped" ? 60_000 : 10_000;
      },
    },
  );
  if (!signedIn) return <Navigate to={`/signin?next=${encodeURIComponent(`/account/orders/${orderId}`)}`} replace />;
  if (!valid) return <NotFound />;
  if (res.isLoading) return <Loading />;
  if (res.error) return <p role="alert">{errorMessage(res.error)}</p>;
  const o = res.data?.order;
  if (!o) return <NotFound />;
  return <OrderView o={o} />;
}

function OrderView({ o }: { o: Order }) {
  const qc = useQueryClient();
  const cancel = useMutation(OrderService.method.cancelOrder);
  const returns = useQuery(
    ReturnService.method.listOrderReturns,
    { orderId: o.id },
    // Follow the returns while one is still being handled.
    { refetchInterval: (q) => (q.state.data?.returns.some((r) => !closedReturnStatuses.has(r.status)) ? 10_000 : false) },
  );
  const [error, setError] = useState("");
  // A message the previous page left (e.g. the payment step's "taking longer").
  const from = (useLocation().state as { status?: unknown } | null)?.status;
  const [status, setStatus] = useState(typeof from === "string" ? from : "");
  const [returning, setReturning] = useState(false);

  const onCancel = async () => {
    setError("");
    try {
      await cancel.mutateAsync({ orderId: o.id, reason: "Cancelled by the customer" });
      setStatus("Order cancelled");
      await qc.invalidateQueries();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const a = o.shipping;
  return (
    <article className="order">
      <h1>Order {o.id.toString()}</h1>
      <p>
        Status: <strong data-testid="order-status">{o.status}</strong>
        {o.statusReason ? <span className="muted"> — {o.statusReason}</span> : null}
      </p>
      <p className="muted">Placed {formatTime(o.createdAt)}</p>
      <p role="status" aria-live="polite">
        {status}
      </p>
      {error ? <p role="alert">{error}</p> : null}
      {o.status === "awaiting_payment" ? (
        <section aria-labelledby="pay" className="order-payment">
          <h2 id="pay">Payment</h2>
          <p>
            This order waits for payment of <strong>{formatMoney(o.totals?.total)}</strong>.
          </p>
          <PaymentSection order={o} level={3} />
        </section>
      ) : null}
      <div className="actions">
        {isCancellable(o) ? (
          <button type="button" onClick={() => void onCancel()} disabled={cancel.isPending}>
            Cancel order
          </button>
        ) : null}
        {isReturnable(o) && !returning ? (
          <button type="button" onClick={() => setReturning(true)}>
            Request a return
          </button>
        ) : null}
      </div>
      {returning ? (
        <ReturnForm
          o={o}
          onDone={(msg) => {
            setReturning(false);
            setStatus(msg);
            void returns.refetch();
          }}
          onCancel={() => setReturning(false)}
        />
      ) : null}

      <section aria-labelledby="items">
        <h2 id="items">Items</h2>
        <ul className="summary-lines">
          {o.lines.map((l, i) => (
            <li key={i}>
              <span>
                {l.quantity} × <Link to={`/p/${l.productId}`}>{l.name}</Link> <span className="muted">({l.sku})</span>
              </span>
              <span>{formatMoney(l.lineTotal)}</span>
            </li>
          ))}
        </ul>
        <CartTotals totals={o.totals} couponCode={o.couponCode} />
      </section>

      <section aria-labelledby="shipto">
        <h2 id="shipto">Shipping to</h2>
        {a && a.line1 ? (
          <address>
            {a.name}
            <br />
            {a.line1}
            {a.line2 ? (
              <>
                <br />
                {a.line2}
              </>
            ) : null}
            <br />
            {a.city} {a.region} {a.postalCode}
            <br />
            {a.country}
          </address>
        ) : (
          <p>{o.shippingAddress}</p>
        )}
        <p className="muted">Shipping method: {o.shippingMethod}</p>
      </section>

      <section aria-labelledby="shipments">
        <h2 id="shipments">Shipments</h2>
        {o.shipments.length === 0 ? <p className="muted">Nothing has shipped yet.</p> : null}
        <ul className="shipments">
          {o.shipments.map((s) => (
            <li key={s.id.toString()}>
              <p>
                <strong>Shipment {s.id.toString()}</strong> — {statusLabel(s.status)}
                {s.shippedAt ? `, shipped ${formatTime(s.shippedAt)}` : ""}
                {s.deliveredAt ? `, delivered ${formatTime(s.deliveredAt)}` : ""}
              </p>
              {s.carrier ? (
                <p>
                  Carrier: {s.carrier}
                  {s.service ? ` (${s.service})` : ""}
                </p>
              ) : null}
              {s.trackingNumber ? (
                <p>
                  Tracking number{" "}
                  <TrackingNumber number={s.trackingNumber} url={s.trackingUrl} />
                </p>
              ) : null}
              {s.lines.length ? (
                <ul>
                  {s.lines.map((l) => (
                    <li key={l.line}>
                      {l.quantity} × {l.name}
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
          ))}
        </ul>
      </section>

      <section aria-labelledby="history">
        <h2 id="history">History</h2>
        <ol aria-label="Timeline" className="timeline">
          {o.timeline.map((e, i) => (
            <li key={i}>
              <time>{formatTime(e.at)}</time> <strong>{statusLabel(e.status)}</strong>
              {e.note ? ` — ${e.note}` : ""}
            </li>
          ))}
        </ol>
      </section>

      {o.refunds.length > 0 ? (
        <section aria-labelledby="refunds">
          <h2 id="refunds">Refunds</h2>
          <ul>
            {o.refunds.map((r) => (
              <li key={r.id.toString()}>
                {formatMoney(r.amount)} — {statusLabel(r.status)}
                {r.reason ? ` (${r.reason})` : ""}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <section aria-labelledby="returns">
        <h2 id="returns">Returns</h2>
        {returns.error ? <p role="alert">{errorMessage(returns.error)}</p> : null}
        {returns.data && returns.data.returns.length === 0 ? <p className="muted">No returns.</p> : null}
        <ul>
          {returns.data?.returns.map((r) => (
            <li key={r.id.toString()}>
              Return {r.id.toString()}: <strong>{statusLabel(r.status)}</strong> —{" "}
              {r.lines.map((l) => `${l.quantity} × ${l.name}`).join(", ")}
              {r.refundAmountMinor > 0n ? `, refund ${formatMoney({ $typeName: "shop.catalog.v1.Money", amountMinor: r.refundAmountMinor, currency: r.currency })}` : ""}
            </li>
          ))}
        </ul>
      </section>
      <p>
        <Link to="/account/orders">All your orders</Link>
      </p>
    </article>
  );
}

function ReturnForm({ o, onDone, onCancel }: { o: Order; onDone: (msg: string) => void; onCancel: () => void }) {
  const ids = useId();
  const request = useMutation(ReturnService.method.requestReturn);
  const [qty, setQty] = useState<number[]>(() => o.lines.map(() => 0));
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    const lines = qty.flatMap((q, i) => (q > 0 ? [{ line: i + 1, quantity: q }] : []));
    if (lines.length === 0) {
      setError("Choose at least one item to return.");
      return;
    }
    try {
      const r = await request.mutateAsync({ orderId: o.id, lines, reason: reason.trim() });
      onDone(`Return ${r.return?.id ?? ""} requested`);
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} className="return-form" aria-labelledby={`${ids}-h`}>
      <h2 id={`${ids}-h`}>Request a return</h2>
      {o.lines.map((l, i) => (
        <div className="field" key={i}>
          <label htmlFor={`${ids}-q${i}`}>Return quantity of {l.name}</label>
          <input
            id={`${ids}-q${i}`}
            type="number"
            min={0}
            max={l.quantity}
            value={qty[i] ?? 0}
            onChange={(e) => setQty(qty.map((q, j) => (j === i ? Math.max(0, Math.min(l.quantity, Math.floor(Number(e.target.value) || 0))) : q)))}
          />
        </div>
      ))}
      <div className="field">
        <label htmlFor={`${ids}-reason`}>Reason</label>
        <textarea id={`${ids}-reason`} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      </div>
      {error ? <p role="alert">{error}</p> : null}
      <button type="submit" className="primary" disabled={request.isPending}>
        Submit return request
      </button>{" "}
      <button type="button" onClick={onCancel}>
        Close
      </button>
    </form>
  );
}
