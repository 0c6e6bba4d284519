// Paying an order that awaits payment: the test-card button (development
// servers) or Stripe Elements. Used by the checkout's payment step and by the
// order page, so an order placed and left (reload, closed tab) can still be paid.
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { Order } from "../gen/shop/order/v1/order_pb";
import { errorMessage } from "../api/errors";
import { useWebConfig } from "../webConfig";
import { Loading } from "../components/Loading";
import { payWithTestCard, waitUntilPaid } from "./payment";

const StripePayment = lazy(() => import("./StripePayment"));

export const slowPaymentMessage = "The payment is taking longer than usual; your order page shows when it arrives.";

/**
 * onPaid runs once the order has left awaiting_payment (or the wait timed
 * out: then with that status), and never after the section is gone.
 */
export function PaymentSection({ order, onPaid, level = 2 }: { order: Order; onPaid?: (status: string) => void; level?: 2 | 3 }) {
  const H = level === 3 ? "h3" : "h2";
  const config = useWebConfig();
  const qc = useQueryClient();
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const aborter = useRef<AbortController>(null);
  useEffect(() => () => aborter.current?.abort(), []);

  const afterPaid = async () => {
    setError("");
    setStatus("Payment sent; waiting for confirmation…");
    aborter.current?.abort();
    const a = new AbortController();
    aborter.current = a;
    try {
      const s = await waitUntilPaid(order.id, 60_000, a.signal);
      if (a.signal.aborted) return;
      await qc.invalidateQueries();
      if (a.signal.aborted) return;
      setStatus(s === "awaiting_payment" ? slowPaymentMessage : "");
      onPaid?.(s);
    } catch (err) {
      if (a.signal.aborted) return;
      setStatus("");
      setError(errorMessage(err));
    }
  };

  const testPay = async () => {
    setBusy(true);
    setError("");
    try {
      await payWithTestCard(order.id);
      await afterPaid();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const stripeKey = config.data?.stripePublishableKey;
  return (
    <>
      {config.isLoading ? <Loading /> : null}
      {config.error ? <p role="alert">Payment options could not be loaded: {errorMessage(config.error)} Reload the page to try again; your order is kept.</p> : null}
      {config.data?.testPayments ? (
        <section aria-labelledby="testpay" className="test-payment">
          <H id="testpay">Test payment (development only)</H>
          <p>This shop runs against a Stripe test double. The button below pays the order as a test card would.</p>
          <button type="button" className="primary" onClick={() => void testPay()} disabled={busy}>
            Pay with test card
          </button>
        </section>
      ) : null}
      {stripeKey && order.clientSecret ? (
        <section aria-labelledby="cardpay">
          <H id="cardpay">Card payment</H>
          <Suspense fallback={<Loading />}>
            <StripePayment publishableKey={stripeKey} clientSecret={order.clientSecret} orderId={order.id} onPaid={() => void afterPaid()} />
          </Suspense>
        </section>
      ) : null}
      {config.data && !config.data.testPayments && !(stripeKey && order.clientSecret) ? (
        <p role="alert">Card payments are not available right now. Your order is kept; try again later from your order page.</p>
      ) : null}
      <p role="status" aria-live="polite">
        {status}
      </p>
      {error ? <p role="alert">{error}</p> : null}
    </>
  );
}
