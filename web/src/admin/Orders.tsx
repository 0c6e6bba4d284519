import { Link, useSearchParams } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { OrderService } from "../gen/shop/order/v1/order_pb";
import { formatMoney } from "../money";
import { dayBound, formatTime, orderStatuses } from "./lib";
import { ApiError, Loading, Pager, StatusBadge } from "./ui";

const limit = 50;

export default function Orders() {
  const [params, setParams] = useSearchParams();
  const status = params.get("status") ?? "";
  const customer = params.get("customer") ?? "";
  const from = params.get("from") ?? "";
  const to = params.get("to") ?? "";
  const skip = Math.max(0, Number(params.get("skip") ?? 0) || 0);
  const customerOk = customer === "" || /^\d+$/.test(customer);
  const list = useQuery(
    OrderService.method.listOrders,
    { status, userId: customerOk && customer ? BigInt(customer) : 0n, skip, limit },
    { enabled: customerOk },
  );
  // The API filters by status and customer; the dates filter the page shown.
  const start = from ? dayBound(from, false) : undefined;
  const end = to ? dayBound(to, true) : undefined;
  const orders = (list.data?.orders ?? []).filter((o) => {
    const at = o.createdAt ? timestampDate(o.createdAt) : undefined;
    if (!at) return true;
    return (!start || at >= start) && (!end || at <= end);
  });

  return (
    <>
      <h1>Orders</h1>
      <form
        className="filters"
        aria-label="Filter orders"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const next = new URLSearchParams();
          for (const k of ["status", "customer", "from", "to"]) {
            const v = String(f.get(k) ?? "").trim();
            if (v) next.set(k, v);
          }
          setParams(next);
        }}
      >
        <div className="field">
          <label htmlFor="or-status">Status</label>
          <select id="or-status" name="status" defaultValue={status} key={status}>
            <option value="">Any status</option>
            {orderStatuses.map((s) => (
              <option key={s} value={s}>
                {s.replaceAll("_", " ")}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="or-customer">Customer</label>
          <input id="or-customer" name="customer" inputMode="numeric" pattern="\d*" placeholder="user id" defaultValue={customer} key={customer} />
        </div>
        <div className="field">
          <label htmlFor="or-from">Placed from</label>
          <input id="or-from" name="from" type="date" defaultValue={from} key={from} />
        </div>
        <div className="field">
          <label htmlFor="or-to">Placed to</label>
          <input id="or-to" name="to" type="date" defaultValue={to} key={to} />
        </div>
        <button type="submit">Filter</button>
        {(status || customer || from || to) && (
          <button type="button" onClick={() => setParams({})}>
            Clear filters
          </button>
        )}
      </form>
      {!customerOk && (
        <p role="alert" className="error">
          Customer must be a user id (a number); find it under Users.
        </p>
      )}
      <ApiError error={list.error} />
      {list.isPending && customerOk && <Loading what="orders" />}
      {list.data && (
        <>
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption>
                Orders: {list.data.total} in all{from || to ? `, ${orders.length} of this page in the date range` : ""}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Order</th>
                  <th scope="col">Placed</th>
                  <th scope="col">Customer</th>
                  <th scope="col">Status</th>
                  <th scope="col">Items</th>
                  <th scope="col">Total</th>
                  <th scope="col">Refunded</th>
                </tr>
              </thead>
              <tbody>
                {orders.length === 0 && (
                  <tr>
                    <td colSpan={7}>No orders match.</td>
                  </tr>
                )}
                {orders.map((o) => (
                  <tr key={String(o.id)}>
                    <th scope="row">
                      <Link to={`/admin/orders/${o.id}`}>Order {String(o.id)}</Link>
                    </th>
                    <td>{formatTime(o.createdAt)}</td>
                    <td>
                      <Link to={`?customer=${o.userId}`} aria-label={`Orders of customer ${o.userId}`}>
                        {String(o.userId)}
                      </Link>
                    </td>
                    <td>
                      <StatusBadge status={o.status} />
                    </td>
                    <td className="num">{o.lines.reduce((n, l) => n + l.quantity, 0)}</td>
                    <td className="num">{formatMoney(o.totals?.total)}</td>
                    <td className="num">{o.refunded && o.refunded.amountMinor > 0n ? formatMoney(o.refunded) : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            skip={skip}
            limit={limit}
            total={list.data.total}
            onSkip={(s) => {
              const next = new URLSearchParams(params);
              next.set("skip", String(s));
              setParams(next);
            }}
          />
        </>
      )}
    </>
  );
}
