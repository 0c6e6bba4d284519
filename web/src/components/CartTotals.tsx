import type { Totals } from "../gen/shop/cart/v1/cart_pb";
import { formatMoney } from "../money";

/** The totals line by line as the API computed them (never summed here). */
export function CartTotals({ totals, couponCode }: { totals: Totals | undefined; couponCode?: string }) {
  if (!totals) return null;
  const hasDiscount = (totals.discount?.amountMinor ?? 0n) !== 0n;
  return (
    <dl className="totals">
      <div>
        <dt>Subtotal</dt>
        <dd>{formatMoney(totals.subtotal)}</dd>
      </div>
      {hasDiscount && (
        <div>
          <dt>Discount</dt>
          <dd>
            {couponCode ? <span className="muted">({couponCode}) </span> : null}−{formatMoney(absMoney(totals.discount))}
          </dd>
        </div>
      )}
      <div>
        <dt>Shipping</dt>
        <dd>{totals.shipping && totals.shipping.amountMinor === 0n ? "Free" : formatMoney(totals.shipping)}</dd>
      </div>
      <div>
        <dt>Tax</dt>
        <dd>
          {totals.taxRatePercent ? <span className="muted">({totals.taxRatePercent}%) </span> : null}
          {formatMoney(totals.tax)}
        </dd>
      </div>
      <div className="totals-total">
        <dt>Total</dt>
        <dd>{formatMoney(totals.total)}</dd>
      </div>
    </dl>
  );
}

function absMoney(m: Totals["discount"]) {
  if (!m) return m;
  return { ...m, amountMinor: m.amountMinor < 0n ? -m.amountMinor : m.amountMinor };
}
