import { useState } from "react";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CartService } from "../gen/shop/cart/v1/cart_pb";
import { MoneySchema } from "../gen/shop/catalog/v1/catalog_pb";
import { formatMoney } from "../money";
import { formatTime, parseMoneyInput } from "./lib";
import { AdminOnlyNote, ApiError, Field, Loading, MoneyInput, StatusMessage, useIsAdmin } from "./ui";

const blank = { code: "", kind: "percent", percent: "", amount: "", currency: "USD", min: "", starts: "", ends: "", maxUses: "0", perUser: "0" };

function CouponForm() {
  const qc = useQueryClient();
  const [d, setD] = useState(blank);
  const [problem, setProblem] = useState("");
  const m = useMutation(CartService.method.createCoupon, {
    onSuccess: () => {
      setD(blank);
      void qc.invalidateQueries();
    },
  });
  const cur = d.currency.trim().toUpperCase();
  return (
    <form
      className="card form-grid"
      aria-labelledby="cp-new"
      onSubmit={(e) => {
        e.preventDefault();
        let amountOff;
        if (d.kind === "fixed") {
          const a = parseMoneyInput(d.amount, cur);
          if (!a.ok) return setProblem(`Amount off: ${a.error}`);
          amountOff = create(MoneySchema, { amountMinor: a.value, currency: cur });
        } else if (!/^\d+(\.\d+)?$/.test(d.percent.trim())) {
          return setProblem("Percent off: a number like 15 or 12.5");
        }
        let minSubtotal;
        if (d.min.trim()) {
          const a = parseMoneyInput(d.min, cur);
          if (!a.ok) return setProblem(`Minimum subtotal: ${a.error}`);
          minSubtotal = create(MoneySchema, { amountMinor: a.value, currency: cur });
        }
        setProblem("");
        m.mutate({
          code: d.code.trim(),
          kind: d.kind,
          percentOff: d.kind === "percent" ? d.percent.trim() : "",
          amountOff,
          minSubtotal,
          startsAt: d.starts ? timestampFromDate(new Date(d.starts)) : undefined,
          endsAt: d.ends ? timestampFromDate(new Date(d.ends)) : undefined,
          maxUses: Number(d.maxUses) || 0,
          maxUsesPerUser: Number(d.perUser) || 0,
        });
      }}
    >
      <h2 id="cp-new" className="wide">
        New coupon
      </h2>
      <Field label="Code" required value={d.code} onChange={(e) => setD({ ...d, code: e.target.value })} apiError={m.error} apiField="code" />
      <div className="field">
        <label htmlFor="cp-kind">Kind</label>
        <select id="cp-kind" value={d.kind} onChange={(e) => setD({ ...d, kind: e.target.value })}>
          <option value="percent">Percent off</option>
          <option value="fixed">Fixed amount off</option>
        </select>
      </div>
      {d.kind === "percent" ? (
        <Field label="Percent off" inputMode="decimal" required value={d.percent} onChange={(e) => setD({ ...d, percent: e.target.value })} apiError={m.error} apiField="percent_off" />
      ) : (
        <MoneyInput label="Amount off" value={d.amount} onChange={(v) => setD({ ...d, amount: v })} currency={cur || "USD"} required />
      )}
      <Field label="Currency" maxLength={3} value={d.currency} onChange={(e) => setD({ ...d, currency: e.target.value })} />
      <MoneyInput label="Minimum subtotal" value={d.min} onChange={(v) => setD({ ...d, min: v })} currency={cur || "USD"} hint="Empty: none" />
      <Field label="Starts" type="datetime-local" value={d.starts} onChange={(e) => setD({ ...d, starts: e.target.value })} />
      <Field label="Ends" type="datetime-local" value={d.ends} onChange={(e) => setD({ ...d, ends: e.target.value })} />
      <Field label="Maximum uses (0: unlimited)" type="number" min={0} value={d.maxUses} onChange={(e) => setD({ ...d, maxUses: e.target.value })} />
      <Field label="Maximum uses per customer (0: unlimited)" type="number" min={0} value={d.perUser} onChange={(e) => setD({ ...d, perUser: e.target.value })} />
      <div className="wide">
        <button type="submit" className="primary" disabled={m.isPending}>
          Create coupon
        </button>
        {problem && (
          <p role="alert" className="error">
            {problem}
          </p>
        )}
        <ApiError error={m.error} />
        {m.isSuccess && <StatusMessage>Coupon {m.data.coupon?.code} created</StatusMessage>}
      </div>
    </form>
  );
}

export default function Coupons() {
  const isAdmin = useIsAdmin();
  const list = useQuery(CartService.method.listCoupons, {});
  return (
    <>
      <h1>Coupons</h1>
      <ApiError error={list.error} />
      {list.isPending && <Loading what="coupons" />}
      {list.data && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption>Coupons ({list.data.coupons.length})</caption>
            <thead>
              <tr>
                <th scope="col">Code</th>
                <th scope="col">Discount</th>
                <th scope="col">Minimum subtotal</th>
                <th scope="col">Valid</th>
                <th scope="col">Uses</th>
                <th scope="col">Per customer</th>
                <th scope="col">Active</th>
              </tr>
            </thead>
            <tbody>
              {list.data.coupons.length === 0 && (
                <tr>
                  <td colSpan={7}>No coupons yet.</td>
                </tr>
              )}
              {list.data.coupons.map((c) => (
                <tr key={c.code}>
                  <th scope="row">{c.code}</th>
                  <td>{c.kind === "percent" ? `${c.percentOff} %` : formatMoney(c.amountOff)}</td>
                  <td>{formatMoney(c.minSubtotal) || "—"}</td>
                  <td>
                    {c.startsAt ? formatTime(c.startsAt) : "always"} – {c.endsAt ? formatTime(c.endsAt) : "no end"}
                  </td>
                  <td className="num">
                    {c.uses}
                    {c.maxUses ? ` of ${c.maxUses}` : ""}
                  </td>
                  <td className="num">{c.maxUsesPerUser || "unlimited"}</td>
                  <td>{c.active ? "yes" : "no"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {isAdmin ? <CouponForm /> : <AdminOnlyNote what="create coupons" />}
    </>
  );
}
