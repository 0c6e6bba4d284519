import { describe, expect, it } from "vitest";
import { render, within } from "@testing-library/react";
import { create } from "@bufbuild/protobuf";
import { TotalsSchema } from "../gen/shop/cart/v1/cart_pb";
import { MoneySchema } from "../gen/shop/catalog/v1/catalog_pb";
import { CartTotals } from "./CartTotals";

const usd = (amountMinor: bigint) => create(MoneySchema, { amountMinor, currency: "USD" });

function rows(): Record<string, string> {
  const dl = document.querySelector("dl");
  if (!dl) throw new Error("no <dl>");
  const out: Record<string, string> = {};
  for (const dt of within(dl).getAllByRole("term")) {
    out[dt.textContent ?? ""] = dt.nextElementSibling?.textContent ?? "";
  }
  return out;
}

describe("CartTotals", () => {
  it("shows each line from the API's minor units, with the discount and tax rate", () => {
    render(
      <CartTotals
        couponCode="SAVE10"
        totals={create(TotalsSchema, {
          subtotal: usd(199999n),
          discount: usd(20000n),
          shipping: usd(599n),
          tax: usd(14850n),
          total: usd(195448n),
          taxRatePercent: "8.25",
        })}
      />,
    );
    expect(rows()).toEqual({
      Subtotal: "$1,999.99",
      Discount: "(SAVE10) −$200.00",
      Shipping: "$5.99",
      Tax: "(8.25%) $148.50",
      Total: "$1,954.48",
    });
  });

  it("leaves the discount out when it is zero and shows free shipping", () => {
    render(
      <CartTotals
        totals={create(TotalsSchema, { subtotal: usd(1000n), discount: usd(0n), shipping: usd(0n), tax: usd(0n), total: usd(1000n) })}
      />,
    );
    const r = rows();
    expect(Object.keys(r)).toEqual(["Subtotal", "Shipping", "Tax", "Total"]);
    expect(r["Shipping"]).toBe("Free");
    expect(r["Tax"]).toBe("$0.00");
    expect(r["Total"]).toBe("$10.00");
  });

  it("formats currencies without minor units", () => {
    const jpy = (amountMinor: bigint) => create(MoneySchema, { amountMinor, currency: "JPY" });
    render(<CartTotals totals={create(TotalsSchema, { subtotal: jpy(1500n), shipping: jpy(300n), tax: jpy(150n), total: jpy(1950n) })} />);
    expect(rows()["Total"]).toBe("¥1,950");
  });
});
