import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useTitle } from "../components/useTitle";
import { Link, Navigate } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { CartService, type Cart, type CartLine } from "../gen/shop/cart/v1/cart_pb";
import { CartTotals } from "../components/CartTotals";
import { Loading } from "../components/Loading";
import { errorMessage } from "../api/errors";
import { recordEvent } from "../api/events";
import { formatMoney } from "../money";
import { useSignedIn } from "../auth/useSession";
import { useCart, useSetCart } from "./cartQuery";
import { cartNotice, forgetCartNotice } from "./pendingCart";

/** What the customer should know about the cart before paying, in words. */
export function cartWarnings(cart: Cart): string[] {
  const out = [...cart.warnings];
  for (const l of cart.lines) {
    if (l.priceChanged && l.addedPrice) {
      out.push(`The price of ${l.name} changed from ${formatMoney(l.addedPrice)} to ${formatMoney(l.unitPrice)}.`);
    }
    if (!l.available) out.push(`${l.name} is no longer available.`);
    else if (!l.inStock || l.availableQuantity <= 0) out.push(`${l.name} is out of stock.`);
    else if (l.availableQuantity < l.quantity) out.push(`Only ${l.availableQuantity} of ${l.name} left; please lower the quantity.`);
  }
  if (cart.couponProblem) out.push(`Coupon ${cart.couponCode}: ${cart.couponProblem}`);
  return [...new Set(out)];
}

export default function CartPage() {
  useTitle("Cart");
  const signedIn = useSignedIn();
  const cart = useCart();
  // What could not be moved from a guest's cart at sign-in (pendingCart.ts), shown once.
  const [notice] = useState(cartNotice);
  useEffect(() => forgetCartNotice(), []);
  const noticeAlert = notice ? (
    <p role="alert" className="alert">
      {notice}
    </p>
  ) : null;
  if (!signedIn) return <Navigate to="/signin?next=%2Fcart" replace />;
  if (cart.isLoading) return <Loading />;
  if (cart.error) return <p role="alert">{errorMessage(cart.error)}</p>;
  const c = cart.data?.cart;
  if (!c || c.lines.length === 0) {
    return (
      <>
        <h1>Cart</h1>
        {noticeAlert}
        <p>Your cart is empty. <Link to="/search">Find something you like</Link>.</p>
      </>
    );
  }
  return <CartView cart={c} notice={noticeAlert} />;
}

function CartView({ cart, notice }: { cart: Cart; notice: ReactNode }) {
  const setCart = useSetCart();
  const [error, setError] = useState("");
  const [status, setStatus] = useState("");
  const ids = useId();
  const methods = useQuery(CartService.method.listShippingMethods, {});
  const remove = useMutation(CartService.method.removeCartItem);
  const apply = useMutation(CartService.method.applyCoupon);
  const unapply = useMutation(CartService.method.removeCoupon);
  const ship = useMutation(CartService.method.setShipping);
  const warnings = cartWarnings(cart);

  const run = async (fn: () => Promise<{ cart?: Cart }>, done?: string) => {
    setError("");
    setStatus("");
    try {
      const r = await fn();
      setCart(r.cart);
      if (done) setStatus(done);
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const onCoupon = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get("code") ?? "").trim();
    if (code) void run(() => apply.mutateAsync({ code }), `Coupon ${code.toUpperCase()} applied`);
  };

  return (
    <div className="cart">
      <h1>Cart</h1>
      {notice}
      {warnings.length > 0 ? (
        <div role="alert" className="alert">
          <ul>
            {warnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <ul className="cart-lines" aria-label="Items">
        {cart.lines.map((l) => (
          <li key={l.itemId.toString()} className="cart-line">
            <div>
              <Link to={`/p/${l.productId}`}>{l.name}</Link>
              <p className="muted">
                SKU {l.sku} · {formatMoney(l.unitPrice)} each
              </p>
            </div>
            <QuantityInput line={l} onChanged={setCart} onError={setError} />
            <p className="line-total">{formatMoney(l.lineTotal)}</p>
            <button
              type="button"
              className="link"
              // One remove per line at a time: a double click would answer NotFound.
              disabled={remove.isPending && remove.variables?.itemId === l.itemId}
              onClick={() => {
                if (remove.isPending && remove.variables?.itemId === l.itemId) return;
                recordEvent("remove_from_cart", { productId: l.productId, variantId: l.variantId, quantity: l.quantity });
                void run(() => remove.mutateAsync({ itemId: l.itemId }), `${l.name} removed`);
              }}
            >
              Remove {l.name}
            </button>
          </li>
        ))}
      </ul>
      <div className="cart-side">
        {cart.couponCode && !cart.couponProblem ? (
          <p>
            Coupon <strong>{cart.couponCode}</strong>{" "}
            <button type="button" className="link" onClick={() => void run(() => unapply.mutateAsync({}), "Coupon removed")}>
              Remove coupon
            </button>
          </p>
        ) : null}
        <form onSubmit={onCoupon} className="inline-form">
          <div className="field">
            <label htmlFor={`${ids}-coupon`}>Coupon code</label>
            <input id={`${ids}-coupon`} name="code" autoComplete="off" />
          </div>
          <button type="submit" disabled={apply.isPending}>
            Apply coupon
          </button>
        </form>
        <div className="field">
          <label htmlFor={`${ids}-ship`}>Shipping method</label>
          <select
            id={`${ids}-ship`}
            value={cart.shippingMethod}
            onChange={(e) => void run(() => ship.mutateAsync({ shippingMethod: e.target.value }), "Shipping method updated")}
          >
            {!cart.shippingMethod ? <option value="">Choose…</option> : null}
            {methods.data?.shippingMethods.map((m) => (
              <option key={m.code} value={m.code}>
                {m.name} — {formatMoney(m.price)}
                {m.freeOver ? ` (free over ${formatMoney(m.freeOver)})` : ""}
              </option>
            ))}
          </select>
        </div>
        <CartTotals totals={cart.totals} couponCode={cart.couponCode} taxPending={!cart.shippingCountry} />
        <p role="status" aria-live="polite" className="status">
          {status}
        </p>
        {error ? <p role="alert">{error}</p> : null}
        <Link to="/checkout" className="button primary">
          Checkout
        </Link>
      </div>
    </div>
  );
}

function QuantityInput({ line, onChanged, onError }: { line: CartLine; onChanged: (c: Cart | undefined) => void; onError: (e: string) => void }) {
  const id = useId();
  const [value, setValue] = useState(String(line.quantity));
  const update = useMutation(CartService.method.updateCartItem);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  // The server's quantity wins whenever it changes.
  const [seen, setSeen] = useState(line.quantity);
  if (seen !== line.quantity) {
    setSeen(line.quantity);
    setValue(String(line.quantity));
  }
  useEffect(() => () => clearTimeout(timer.current), []);

  const commit = (v: string) => {
    clearTimeout(timer.current);
    const n = Math.floor(Number(v));
    if (!Number.isFinite(n) || n < 1 || n === line.quantity) return;
    update
      .mutateAsync({ itemId: line.itemId, quantity: n })
      .then((r) => onChanged(r.cart))
      .catch((err: unknown) => {
        onError(errorMessage(err));
        setValue(String(line.quantity));
      });
  };

  return (
    <div className="field qty">
      <label htmlFor={id}>Quantity of {line.name}</label>
      <input
        id={id}
        type="number"
        min={1}
        max={99}
        value={value}
        onChange={(e) => {
          setValue(e.target.value);
          clearTimeout(timer.current);
          const v = e.target.value;
          timer.current = setTimeout(() => commit(v), 500);
        }}
        onBlur={(e) => commit(e.target.value)}
      />
    </div>
  );
}
