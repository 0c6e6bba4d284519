import { lazy, Suspense, useEffect, useRef, useState, type FormEvent } from "react";
import { Link, Navigate, useNavigate } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";
import { OrderService, type Order } from "../gen/shop/order/v1/order_pb";
import { client } from "../api/transport";
import { errorMessage, fieldErrors } from "../api/errors";
import { recordEvent } from "../api/events";
import { useSignedIn } from "../auth/useSession";
import { useWebConfig } from "../webConfig";
import { AddressFields } from "../components/AddressFields";
import { CartTotals } from "../components/CartTotals";
import { Loading } from "../components/Loading";
import { formatMoney } from "../money";
import { addressErrorsFromApi, emptyAddress, validateAddress, type AddressErrors, type AddressInput } from "./checkoutValidation";
import { fromBook, toBook, toOrderAddress } from "./addressBook";
import { useCart } from "./cartQuery";
import { cartWarnings } from "./CartPage";
import { payWithTestCard, waitUntilPaid } from "./payment";

const StripePayment = lazy(() => import("./StripePayment"));

function newKey(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

export default function CheckoutPage() {
  const signedIn = useSignedIn();
  if (!signedIn) return <Navigate to="/signin?next=%2Fcheckout" replace />;
  return <Checkout />;
}

function Checkout() {
  const cart = useCart();
  const book = useQuery(AuthService.method.listAddresses, {});
  const [order, setOrder] = useState<Order | null>(null);

  useEffect(() => recordEvent("checkout_started"), []);

  if (order) return <PaymentStep order={order} />;
  if (cart.isLoading || book.isLoading) return <Loading />;
  if (cart.error) return <p role="alert">{errorMessage(cart.error)}</p>;
  const c = cart.data?.cart;
  if (!c || c.lines.length === 0) {
    return (
      <>
        <h1>Checkout</h1>
        <p>
          Your cart is empty. <Link to="/search">Continue shopping</Link>
        </p>
      </>
    );
  }
  const addresses = book.data?.addresses ?? [];
  const initial = addresses.find((a) => a.isDefault && a.kind !== "billing") ?? addresses[0];
  return (
    <div className="checkout">
      <h1>Checkout</h1>
      <section aria-labelledby="summary" className="checkout-summary">
        <h2 id="summary">Order summary</h2>
        {cartWarnings(c).length > 0 ? (
          <div role="alert" className="alert">
            <ul>
              {cartWarnings(c).map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          </div>
        ) : null}
        <ul className="summary-lines">
          {c.lines.map((l) => (
            <li key={l.itemId.toString()}>
              {l.quantity} × {l.name} <span>{formatMoney(l.lineTotal)}</span>
            </li>
          ))}
        </ul>
        <CartTotals totals={c.totals} couponCode={c.couponCode} />
        <p>
          <Link to="/cart">Edit cart</Link>
        </p>
      </section>
      <AddressForm initial={initial ? fromBook(initial) : emptyAddress} hasBook={addresses.length > 0} shippingMethod={c.shippingMethod} onPlaced={setOrder} />
    </div>
  );
}

function AddressForm({
  initial,
  hasBook,
  shippingMethod,
  onPlaced,
}: {
  initial: AddressInput;
  hasBook: boolean;
  shippingMethod: string;
  onPlaced: (o: Order) => void;
}) {
  const [address, setAddress] = useState<AddressInput>(initial);
  const [errors, setErrors] = useState<AddressErrors>({});
  const [error, setError] = useState("");
  const [save, setSave] = useState(!hasBook);
  const [busy, setBusy] = useState(false);
  // One key per attempt at this address: a retry after a network failure
  // places the same order rather than a second one.
  const key = useRef({ key: newKey(), for: "" });
  const formRef = useRef<HTMLFormElement>(null);

  const focusFirstInvalid = () =>
    requestAnimationFrame(() => formRef.current?.querySelector<HTMLInputElement>("[aria-invalid=true]")?.focus());

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    const errs = validateAddress(address);
    setErrors(errs);
    if (Object.keys(errs).length > 0) {
      focusFirstInvalid();
      return;
    }
    const body = JSON.stringify(address);
    if (key.current.for !== body) key.current = { key: newKey(), for: body };
    setBusy(true);
    try {
      if (save) {
        try {
          await client(AuthService).addAddress({ address: { ...toBook(address), kind: "shipping", isDefault: !hasBook } });
        } catch {
          // saving is a convenience; the order goes on
        }
      }
      const r = await client(OrderService).createOrder(
        { shipping: toOrderAddress(address), shippingMethod, paymentMethod: "credit_card" },
        { headers: { "Idempotency-Key": key.current.key } },
      );
      if (!r.order) throw new Error("The order was not created.");
      onPlaced(r.order);
    } catch (err) {
      const f = addressErrorsFromApi(fieldErrors(err));
      setErrors(f);
      setError(errorMessage(err));
      if (Object.keys(f).length) focusFirstInvalid();
    } finally {
      setBusy(false);
    }
  };

  return (
    <form ref={formRef} onSubmit={(e) => void submit(e)} noValidate aria-labelledby="ship-to" className="checkout-form">
      <h2 id="ship-to">Shipping address</h2>
      <AddressFields value={address} onChange={setAddress} errors={errors} />
      <label className="check">
        <input type="checkbox" checked={save} onChange={(e) => setSave(e.target.checked)} />
        Save this address to my address book
      </label>
      {error ? (
        <p role="alert" className="alert">
          {error}
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Placing order…" : "Place order"}
      </button>
    </form>
  );
}

function PaymentStep({ order }: { order: Order }) {
  const config = useWebConfig();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const aborter = useRef<AbortController>(null);
  useEffect(() => () => aborter.current?.abort(), []);

  const afterPaid = async () => {
    setStatus("Payment sent; waiting for confirmation…");
    aborter.current = new AbortController();
    const s = await waitUntilPaid(order.id, 60_000, aborter.current.signal);
    await qc.invalidateQueries();
    if (s === "awaiting_payment") setStatus("The payment is taking longer than usual; your order page will show when it arrives.");
    void navigate(`/account/orders/${order.id}`);
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

  return (
    <div className="checkout">
      <h1>Payment</h1>
      <p>
        Order {order.id.toString()} is placed and waits for payment of <strong>{formatMoney(order.totals?.total)}</strong>.
      </p>
      {config.isLoading ? <Loading /> : null}
      {config.data?.testPayments ? (
        <section aria-labelledby="testpay" className="test-payment">
          <h2 id="testpay">Test payment (development only)</h2>
          <p>This shop runs against a Stripe test double. The button below pays the order as a test card would.</p>
          <button type="button" className="primary" onClick={() => void testPay()} disabled={busy}>
            Pay with test card
          </button>
        </section>
      ) : null}
      {config.data?.stripePublishableKey && order.clientSecret ? (
        <section aria-labelledby="cardpay">
          <h2 id="cardpay">Card payment</h2>
          <Suspense fallback={<Loading />}>
            <StripePayment publishableKey={config.data.stripePublishableKey} clientSecret={order.clientSecret} orderId={order.id} onPaid={() => void afterPaid()} />
          </Suspense>
        </section>
      ) : null}
      {config.data && !config.data.testPayments && !(config.data.stripePublishableKey && order.clientSecret) ? (
        <p role="alert">Card payments are not available right now. Your order is kept; pay later from your order page.</p>
      ) : null}
      <p role="status" aria-live="polite">
        {status}
      </p>
      {error ? <p role="alert">{error}</p> : null}
      <p>
        <Link to={`/account/orders/${order.id}`}>View order {order.id.toString()}</Link>
      </p>
    </div>
  );
}
