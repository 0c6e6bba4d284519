// Loaded lazily (its own chunk) only when the shop has a Stripe publishable key.
import { useMemo, useState, type FormEvent } from "react";
import { loadStripe } from "@stripe/stripe-js";
import { Elements, PaymentElement, useElements, useStripe } from "@stripe/react-stripe-js";

function PayForm({ orderId, onPaid }: { orderId: bigint; onPaid: () => void }) {
  const stripe = useStripe();
  const elements = useElements();
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!stripe || !elements) return;
    setBusy(true);
    setError("");
    try {
      const r = await stripe.confirmPayment({
        elements,
        redirect: "if_required",
        confirmParams: { return_url: `${location.origin}/account/orders/${orderId}` },
      });
      if (r.error) setError(r.error.message ?? "The payment failed.");
      else onPaid();
    } catch (err) {
      setError(err instanceof Error ? err.message : "The payment failed.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)}>
      <PaymentElement />
      {error ? <p role="alert">{error}</p> : null}
      <button type="submit" className="primary" disabled={!stripe || busy}>
        Pay
      </button>
    </form>
  );
}

export default function StripePayment({
  publishableKey,
  clientSecret,
  orderId,
  onPaid,
}: {
  publishableKey: string;
  clientSecret: string;
  orderId: bigint;
  onPaid: () => void;
}) {
  const stripe = useMemo(() => loadStripe(publishableKey), [publishableKey]);
  return (
    <Elements stripe={stripe} options={{ clientSecret }}>
      <PayForm orderId={orderId} onPaid={onPaid} />
    </Elements>
  );
}
