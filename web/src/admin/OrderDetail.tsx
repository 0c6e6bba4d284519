import { useState } from "react";
import { TrackingNumber } from "../components/TrackingNumber";
import { CartTotals } from "../components/CartTotals";
import { Link, useParams } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { create } from "@bufbuild/protobuf";
import { MoneySchema } from "../gen/shop/catalog/v1/catalog_pb";
import { OrderService, type Order, type Refund } from "../gen/shop/order/v1/order_pb";
import { ReturnService } from "../gen/shop/returns/v1/returns_pb";
import { formatMoney } from "../money";
import { useWebConfig } from "../webConfig";
import { finalOrderStatuses, fmtMinor, formatTime, parseMoneyInput, temporalWorkflowUrl } from "./lib";
import { ApiError, ConfirmButton, Field, Loading, MoneyInput, StatusBadge, StatusMessage } from "./ui";

const cancellable = new Set(["awaiting_payment", "paid"]);

function addressText(o: Order): string {
  const a = o.shipping;
  if (!a) return o.shippingAddress;
  return [a.name, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(" "), a.region, a.country, a.phone].filter(Boolean).join(", ");
}

function RefundForm({ order }: { order: Order }) {
  const qc = useQueryClient();
  const currency = order.captured?.currency || order.totals?.total?.currency || "USD";
  const left = (order.captured?.amountMinor ?? 0n) - (order.refunded?.amountMinor ?? 0n);
  const [open, setOpen] = useState(false);
  const [kind, setKind] = useState<"full" | "partial">("full");
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState("");
  const [confirming, setConfirming] = useState<bigint | null>(null);
  const m = useMutation(OrderService.method.refundOrder, {
    onSuccess: () => {
      setOpen(false);
      setConfirming(null);
      void qc.invalidateQueries();
    },
  });
  if (!open) {
    return (
      <>
        <button type="button" className="danger" disabled={left <= 0n} onClick={() => setOpen(true)}>
          Refund
        </button>
        {m.isSuccess && <StatusMessage>Refund {m.data.refund?.status ?? "requested"}</StatusMessage>}
      </>
    );
  }
  return (
    <form
      className="card"
      aria-labelledby="refund-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (!reason.trim()) return setProblem("Give a reason for the refund");
        let value = left;
        if (kind === "partial") {
          const p = parseMoneyInput(amount, currency);
          if (!p.ok) return setProblem(`Amount: ${p.error}`);
          if (p.value <= 0n) return setProblem("Amount: must be more than zero");
          if (p.value > left) return setProblem(`Amount: at most ${fmtMinor(left, currency)} is left to refund`);
          value = p.value;
        }
        setProblem("");
        setConfirming(value);
      }}
    >
      <h3 id="refund-title">Refund order {String(order.id)}</h3>
      <p>{fmtMinor(left, currency)} captured and not yet refunded.</p>
      <fieldset>
        <legend>How much</legend>
        <div className="field checkbox">
          <input id="rf-full" type="radio" name="kind" checked={kind === "full"} onChange={() => setKind("full")} />
          <label htmlFor="rf-full">Everything left ({fmtMinor(left, currency)})</label>
        </div>
        <div className="field checkbox">
          <input id="rf-part" type="radio" name="kind" checked={kind === "partial"} onChange={() => setKind("partial")} />
          <label htmlFor="rf-part">Part of it</label>
        </div>
      </fieldset>
      {kind === "partial" && <MoneyInput label="Refund amount" value={amount} onChange={setAmount} currency={currency} required />}
      <Field label="Refund reason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} apiError={m.error} apiField="reason" />
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {confirming === null ? (
        <div className="row">
          <button type="submit" className="danger">
            Review refund
          </button>
          <button type="button" onClick={() => setOpen(false)}>
            Close
          </button>
        </div>
      ) : (
        <div role="group" aria-label="Confirm refund" className="confirm">
          <p>
            Refund {fmtMinor(confirming, currency)} to the customer? This cannot be undone.
          </p>
          <div className="row">
            <button
              type="button"
              className="danger"
              disabled={m.isPending}
              onClick={() =>
                m.mutate({
                  orderId: order.id,
                  reason: reason.trim(),
                  amount: kind === "partial" ? create(MoneySchema, { amountMinor: confirming, currency }) : undefined,
                })
              }
            >
              Yes, refund {fmtMinor(confirming, currency)}
            </button>
            <button type="button" onClick={() => setConfirming(null)}>
              Back
            </button>
          </div>
        </div>
      )}
      <ApiError error={m.error} prefix="Refund failed" />
    </form>
  );
}

function ResolveRefund({ refund }: { refund: Refund }) {
  const qc = useQueryClient();
  const [note, setNote] = useState("");
  const m = useMutation(OrderService.method.resolveRefund, { onSuccess: () => void qc.invalidateQueries() });
  const act = (action: string) => m.mutate({ refundId: refund.id, action, note });
  return (
    <div className="resolve">
      <Field label={`Note on refund ${refund.id}`} value={note} onChange={(e) => setNote(e.target.value)} />
      <div className="row">
        <button type="button" disabled={m.isPending} onClick={() => act("retry")}>
          Retry refund {String(refund.id)}
        </button>
        <ConfirmButton
          label={`Mark refund ${refund.id} refunded`}
          question="Mark as refunded: the money was returned outside Stripe?"
          confirmLabel="Yes, mark refunded"
          busy={m.isPending}
          onConfirm={() => act("mark_refunded")}
        />
        <ConfirmButton
          label={`Give up refund ${refund.id}`}
          question="Close this refund as failed? The customer gets nothing back through it."
          confirmLabel="Yes, give up"
          busy={m.isPending}
          onConfirm={() => act("give_up")}
        />
      </div>
      <ApiError error={m.error} />
    </div>
  );
}

export default function OrderDetail() {
  const { orderId = "" } = useParams();
  const id = /^\d+$/.test(orderId) ? BigInt(orderId) : 0n;
  const qc = useQueryClient();
  const config = useWebConfig();
  const q = useQuery(
    OrderService.method.getOrder,
    { orderId: id },
    { enabled: id > 0n, refetchInterval: (query) => (query.state.data?.order && finalOrderStatuses.has(query.state.data.order.status) ? false : 5000) },
  );
  const returns = useQuery(ReturnService.method.listOrderReturns, { orderId: id }, { enabled: id > 0n });
  const [cancelReason, setCancelReason] = useState("");
  const cancel = useMutation(OrderService.method.cancelOrder, { onSuccess: () => void qc.invalidateQueries() });

  if (id === 0n) return <h1>Order not found</h1>;
  if (q.isPending) return <Loading what={`order ${orderId}`} />;
  const o = q.data?.order;
  if (q.error || !o)
    return (
      <>
        <h1>Order {orderId}</h1>
        <ApiError error={q.error} />
      </>
    );
  const workflowUrl = temporalWorkflowUrl(config.data?.temporalUiUrl, config.data?.temporalNamespace, o.workflowId);
  const t = o.totals;
  return (
    <>
      <p>
        <Link to="/admin/orders">← Orders</Link>
      </p>
      <h1>Order {String(o.id)}</h1>
      <div className="summary card">
        <p>
          Status: <strong data-testid="order-status">{o.status}</strong>
          {o.statusReason && <span> ({o.statusReason})</span>}
        </p>
        <p>
          Customer <Link to={`/admin/orders?customer=${o.userId}`}>{String(o.userId)}</Link> · placed {formatTime(o.createdAt)}
          {o.paidAt && ` · paid ${formatTime(o.paidAt)}`}
        </p>
        <p>
          Workflow <code>{o.workflowId}</code>{" "}
          {workflowUrl ? (
            <a href={workflowUrl} target="_blank" rel="noreferrer">
              Open workflow in Temporal UI
            </a>
          ) : (
            <span className="hint">(no Temporal UI configured)</span>
          )}
        </p>
      </div>

      <section aria-labelledby="od-actions" className="actions-bar">
        <h2 id="od-actions">Actions</h2>
        <div className="row">
          <ConfirmButton
            label="Cancel order"
            question={`Cancel order ${o.id}? Its stock goes back${o.status === "paid" ? " and the payment is refunded in full" : ""}.`}
            confirmLabel="Yes, cancel order"
            disabled={!cancellable.has(o.status)}
            busy={cancel.isPending}
            onConfirm={() => cancel.mutate({ orderId: o.id, reason: cancelReason })}
          >
            <Field label="Cancellation reason (optional)" maxLength={500} value={cancelReason} onChange={(e) => setCancelReason(e.target.value)} />
          </ConfirmButton>
          <RefundForm order={o} />
        </div>
        {!cancellable.has(o.status) && <p className="hint">Only an order awaiting payment or paid (not shipped) can be cancelled.</p>}
        <ApiError error={cancel.error} prefix="Cancel failed" />
        {cancel.isSuccess && <StatusMessage>Order {cancel.data.order?.status ?? "cancelled"}</StatusMessage>}
      </section>

      <div className="two-col">
        <section aria-labelledby="od-lines">
          <h2 id="od-lines">Lines</h2>
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption>Items ordered</caption>
              <thead>
                <tr>
                  <th scope="col">Item</th>
                  <th scope="col">SKU</th>
                  <th scope="col">Qty</th>
                  <th scope="col">Unit price</th>
                  <th scope="col">Total</th>
                </tr>
              </thead>
              <tbody>
                {o.lines.map((l, i) => (
                  <tr key={i}>
                    <th scope="row">
                      <Link to={`/admin/products/${l.productId}`}>{l.name}</Link>
                    </th>
                    <td>{l.sku}</td>
                    <td className="num">{l.quantity}</td>
                    <td className="num">{formatMoney(l.unitPrice)}</td>
                    <td className="num">{formatMoney(l.lineTotal)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <CartTotals totals={t} couponCode={o.couponCode} />
          <p className="muted">Shipping method: {o.shippingMethod}</p>
        </section>
        <section aria-labelledby="od-tl">
          <h2 id="od-tl">Timeline</h2>
          <ol aria-label="Timeline" className="timeline">
            {o.timeline.map((e, i) => (
              <li key={i}>
                <strong>{e.status}</strong> <time>{formatTime(e.at)}</time>
                {e.note && <div>{e.note}</div>}
              </li>
            ))}
          </ol>
        </section>
      </div>

      <section aria-labelledby="od-pay">
        <h2 id="od-pay">Payment and refunds</h2>
        <dl className="pairs">
          <dt>Method</dt>
          <dd>{o.paymentMethod || "—"}</dd>
          <dt>Payment intent</dt>
          <dd>
            <code>{o.paymentIntentId || "—"}</code>
          </dd>
          <dt>Captured</dt>
          <dd>{formatMoney(o.captured) || "—"}</dd>
          <dt>Refunded</dt>
          <dd>{formatMoney(o.refunded) || "—"}</dd>
        </dl>
        {o.refunds.length > 0 && (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption>Refunds</caption>
              <thead>
                <tr>
                  <th scope="col">Refund</th>
                  <th scope="col">When</th>
                  <th scope="col">Amount</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {o.refunds.map((r) => (
                  <tr key={String(r.id)}>
                    <th scope="row">{String(r.id)}</th>
                    <td>{formatTime(r.createdAt)}</td>
                    <td className="num">{formatMoney(r.amount)}</td>
                    <td>{r.reason}</td>
                    <td>
                      <StatusBadge status={r.status} />
                      {r.lastError && <div className="field-error">{r.lastError}</div>}
                      {r.status === "needs_attention" && <ResolveRefund refund={r} />}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="od-ship">
        <h2 id="od-ship">Shipping</h2>
        <p>
          To: {addressText(o) || "—"}
          {o.billingAddress && ` · billing: ${o.billingAddress}`}
        </p>
        {o.shipments.length === 0 ? (
          <p>No shipments yet.</p>
        ) : (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption>Shipments</caption>
              <thead>
                <tr>
                  <th scope="col">Shipment</th>
                  <th scope="col">From</th>
                  <th scope="col">Status</th>
                  <th scope="col">Carrier</th>
                  <th scope="col">Tracking number</th>
                  <th scope="col">Items</th>
                </tr>
              </thead>
              <tbody>
                {o.shipments.map((s) => (
                  <tr key={String(s.id)}>
                    <th scope="row">{String(s.id)}</th>
                    <td>{s.locationCode}</td>
                    <td>
                      <StatusBadge status={s.status} />
                    </td>
                    <td>{s.carrier}</td>
                    <td>{s.trackingNumber ? <TrackingNumber number={s.trackingNumber} url={s.trackingUrl} /> : null}</td>
                    <td>{s.lines.map((l) => `${l.quantity} × ${l.name}`).join(", ")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p>
          <Link to={`/admin/fulfilment?order=${o.id}`}>Fulfil this order’s shipments</Link>
        </p>
      </section>

      <section aria-labelledby="od-ret">
        <h2 id="od-ret">Returns</h2>
        <ApiError error={returns.error} />
        {returns.data && returns.data.returns.length === 0 && <p>No returns.</p>}
        {returns.data && returns.data.returns.length > 0 && (
          <ul>
            {returns.data.returns.map((r) => (
              <li key={String(r.id)}>
                Return {String(r.id)}: <StatusBadge status={r.status} /> {r.reason} ·{" "}
                <Link to={`/admin/returns?order=${o.id}`}>Handle in Returns</Link>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
