import { useEffect, useRef, useState, type FormEvent } from "react";
import { useTitle } from "../components/useTitle";
import { Link, Navigate, useNavigate, useSearchParams } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { createConnectQueryKey } from "@connectrpc/connect-query";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";
import { OrderService, type Order } from "../gen/shop/order/v1/order_pb";
import { client } from "../api/transport";
import { newKey } from "../api/ids";
import { errorMessage, fieldErrors, isUnknownOutcome } from "../api/errors";
import { recordEvent } from "../api/events";
import { useSignedIn } from "../auth/useSession";
import { AddressFields } from "../components/AddressFields";
import { CartTotals } from "../components/CartTotals";
import { Loading } from "../components/Loading";
import { formatMoney } from "../money";
import { addressErrorsFromApi, emptyAddress, validateAddress, type AddressErrors, type AddressInput } from "./checkoutValidation";
import { fromBook, toBook, toOrderAddress } from "./addressBook";
import { useCart, useSetCart } from "./cartQuery";
import { CartService } from "../gen/shop/cart/v1/cart_pb";
import { cartWarnings } from "./CartPage";
import { PaymentSection, slowPaymentMessage } from "./PaymentSection";


export default function CheckoutPage() {
  useTitle("Checkout");
  const signedIn = useSignedIn();
  if (!signedIn) return <Navigate to="/signin?next=%2Fcheckout" replace />;
  return <Checkout />;
}

function Checkout() {
  // The placed order's id is kept in the URL, so a reload comes back to its payment.
  const [params, setParams] = useSearchParams();
  const orderParam = params.get("order") ?? "";
  if (/^[1-9]\d{0,18}$/.test(orderParam)) return <PendingOrder orderId={BigInt(orderParam)} />;
  return <CheckoutForm onPlaced={(o) => setParams({ order: o.id.toString() }, { replace: true })} />;
}

/** The payment step of an order placed here, or its order page once it no longer awaits payment. */
function PendingOrder({ orderId }: { orderId: bigint }) {
  const res = useQuery(OrderService.method.getOrder, { orderId });
  if (res.isLoading) return <Loading />;
  if (res.error) return <p role="alert">{errorMessage(res.error)}</p>;
  const o = res.data?.order;
  if (!o || o.status !== "awaiting_payment") return <Navigate to={`/account/orders/${orderId}`} replace />;
  return <PaymentStep order={o} />;
}

function CheckoutForm({ onPlaced }: { onPlaced: (o: Order) => void }) {
  const cart = useCart();
  const book = useQuery(AuthService.method.listAddresses, {});
  const qc = useQueryClient();

  useEffect(() => recordEvent("checkout_started"), []);

  const placed = (o: Order) => {
    // The server emptied the cart with the order: the header count and the cart page follow.
    void qc.invalidateQueries({ queryKey: createConnectQueryKey({ schema: CartService.method.getCart, cardinality: undefined }) });
    onPlaced(o);
  };

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
        <CartTotals totals={c.totals} couponCode={c.couponCode} taxPending={!c.shippingCountry} />
        <p>
          <Link to="/cart">Edit cart</Link>
        </p>
      </section>
      <AddressForm initial={initial ? fromBook(initial) : emptyAddress} hasBook={addresses.length > 0} shippingMethod={c.shippingMethod} onPlaced={placed} />
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
  // The address is saved once, even when placing the order needs retries.
  const saved = useRef(false);
  const qc = useQueryClient();
  const setCart = useSetCart();

  // Once the address is complete, it becomes the cart's destination, so the
  // summary shows the tax and shipping the order will have.
  const complete = Object.keys(validateAddress(address)).length === 0;
  const destination = complete ? JSON.stringify(toOrderAddress(address)) : "";
  useEffect(() => {
    if (!destination) return;
    const t = setTimeout(() => {
      client(CartService)
        .setShipping({ address: JSON.parse(destination) as ReturnType<typeof toOrderAddress> })
        .then((r) => setCart(r.cart))
        .catch(() => undefined); // the order itself reports a bad address
    }, 400);
    return () => clearTimeout(t);
  }, [destination, setCart]);

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
      if (save && !saved.current) {
        try {
          await client(AuthService).addAddress({ address: { ...toBook(address), kind: "shipping", isDefault: !hasBook } });
          saved.current = true;
          void qc.invalidateQueries({ queryKey: createConnectQueryKey({ schema: AuthService.method.listAddresses, cardinality: undefined }) });
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
      // A retry after an unknown outcome must place the same order; after a
      // definite refusal, the next attempt is a new request (the server would
      // otherwise answer the same refusal again).
      if (!isUnknownOutcome(err)) {
        key.current = { key: newKey(), for: "" };
        void qc.invalidateQueries({ queryKey: createConnectQueryKey({ schema: CartService.method.getCart, cardinality: undefined }) });
      }
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
      <AddressFields
        value={address}
        onChange={(a) => {
          setAddress(a);
          // After a first attempt, the errors follow the typing.
          if (Object.keys(errors).length) setErrors(validateAddress(a));
        }}
        errors={errors}
      />
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
  const navigate = useNavigate();
  const heading = useRef<HTMLHeadingElement>(null);
  // The Place order button is gone: focus moves to the new step.
  useEffect(() => heading.current?.focus(), []);
  return (
    <div className="checkout">
      <h1 ref={heading} tabIndex={-1}>
        Payment
      </h1>
      <p>
        Order {order.id.toString()} is placed and waits for payment of <strong>{formatMoney(order.totals?.total)}</strong>.
      </p>
      <PaymentSection
        order={order}
        onPaid={(s) => void navigate(`/account/orders/${order.id}`, { state: s === "awaiting_payment" ? { status: slowPaymentMessage } : undefined })}
      />
      <p>
        <Link to={`/account/orders/${order.id}`}>View order {order.id.toString()}</Link>
      </p>
    </div>
  );
}
