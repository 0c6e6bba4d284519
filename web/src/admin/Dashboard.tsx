import { useState } from "react";
import { useSearchParams } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AnalyticsService, type Row } from "../gen/shop/analytics/v1/analytics_pb";
import { authedFetch } from "../api/transport";
import { dayBound, fmtMinor, isoDay } from "./lib";
import { ApiError, Loading, StatusMessage } from "./ui";

const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function defaultRange(): [string, string] {
  const to = new Date();
  const from = new Date(to.getFullYear(), to.getMonth(), to.getDate() - 29);
  return [isoDay(from), isoDay(to)];
}

function percent(x: number | undefined): string {
  return x === undefined ? "–" : `${(x * 100).toFixed(1)} %`;
}

function salesOf(row: Row | undefined, currency: string) {
  return row?.sales.find((s) => s.currency === currency);
}

/** Revenue per day as bars (one currency), with the numbers in a table for screen readers. */
function SalesChart({ rows, currency }: { rows: Row[]; currency: string }) {
  const values = rows.map((r) => salesOf(r, currency)?.totalSales ?? 0n);
  const max = values.reduce((a, b) => (b > a ? b : a), 0n);
  const w = 640;
  const h = 200;
  const bw = rows.length > 0 ? w / rows.length : w;
  const total = values.reduce((a, b) => a + b, 0n);
  return (
    <figure className="chart">
      <figcaption>
        Sales per day ({currency}), {fmtMinor(total, currency)} in total
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h + 2}`} role="img" aria-label={`Bar chart of sales per day in ${currency}`} preserveAspectRatio="none">
        <line x1="0" y1={h} x2={w} y2={h} stroke="#555" />
        {rows.map((r, i) => {
          const v = values[i] ?? 0n;
          // Bar heights are a display ratio only; money itself stays bigint.
          const bh = max > 0n ? Number((v * 1000n) / max) / 1000 * (h - 10) : 0;
          return (
            <rect key={r.key} x={i * bw + 1} y={h - bh} width={Math.max(bw - 2, 1)} height={bh} fill="#1f5fa8">
              <title>
                {r.label}: {fmtMinor(v, currency)}, {String(r.orderCount ?? 0n)} orders
              </title>
            </rect>
          );
        })}
      </svg>
      {rows.length > 0 && (
        <div className="axis" aria-hidden="true">
          <span>{rows[0]?.label}</span>
          <span>{rows[rows.length - 1]?.label}</span>
        </div>
      )}
      <details>
        <summary>Sales per day as a table</summary>
        <table>
          <caption>Sales per day</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Orders</th>
              <th scope="col">Sales</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={r.key}>
                <th scope="row">{r.label}</th>
                <td>{String(r.orderCount ?? 0n)}</td>
                <td>{fmtMinor(values[i] ?? 0n, currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

export default function Dashboard() {
  const [params, setParams] = useSearchParams();
  const [defFrom, defTo] = defaultRange();
  const from = params.get("from") ?? defFrom;
  const to = params.get("to") ?? defTo;
  const start = dayBound(from, false);
  const end = dayBound(to, true);
  const rangeOk = !!start && !!end && start <= end;
  const base = rangeOk ? { startDate: timestampFromDate(start), endDate: timestampFromDate(end), timeZone } : undefined;

  const totals = useQuery(
    AnalyticsService.method.getSalesAnalytics,
    base
      ? {
          ...base,
          metrics: ["total_sales", "net_sales", "order_count", "units_sold", "average_order_value", "conversion_rate", "refund_rate", "new_customers"],
          groupBy: "none",
        }
      : undefined,
    { enabled: rangeOk },
  );
  const perDay = useQuery(
    AnalyticsService.method.getSalesAnalytics,
    base ? { ...base, metrics: ["total_sales", "order_count"], groupBy: "day" } : undefined,
    { enabled: rangeOk },
  );
  const top = useQuery(
    AnalyticsService.method.getSalesAnalytics,
    base ? { ...base, metrics: ["units_sold", "total_sales", "order_count"], groupBy: "product", orderBy: "units_sold", limit: 10 } : undefined,
    { enabled: rangeOk },
  );

  const all = totals.data?.rows[0];
  const currencies = [...new Set((perDay.data?.rows ?? []).flatMap((r) => r.sales.map((s) => s.currency)))].sort();
  const [chosen, setChosen] = useState("");
  const currency = currencies.includes(chosen) ? chosen : (currencies[0] ?? "");

  const [exportState, setExportState] = useState<{ busy: boolean; error?: string; done?: string }>({ busy: false });
  async function exportCsv() {
    if (!start || !end) return;
    setExportState({ busy: true });
    try {
      const r = await authedFetch("/api/analytics", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/csv" },
        body: JSON.stringify({
          start_date: start.toISOString(),
          end_date: end.toISOString(),
          time_zone: timeZone,
          group_by: "day",
          metrics: ["total_sales", "net_sales", "order_count", "units_sold", "average_order_value", "conversion_rate", "refund_rate"],
        }),
      });
      if (!r.ok) {
        let msg = `${r.status} ${r.statusText}`;
        try {
          const j = (await r.json()) as { message?: string };
          if (j.message) msg = j.message;
        } catch {
          // The status line is all there is.
        }
        throw new Error(r.status === 403 ? `Permission denied: ${msg}` : msg);
      }
      const blob = await r.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `sales-${from}-to-${to}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setExportState({ busy: false, done: `Exported ${a.download}` });
    } catch (e) {
      setExportState({ busy: false, error: e instanceof Error ? e.message : String(e) });
    }
  }

  return (
    <>
      <h1>Analytics</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          setParams({ from: String(f.get("from") ?? ""), to: String(f.get("to") ?? "") });
        }}
      >
        <div className="field">
          <label htmlFor="an-from">From</label>
          <input id="an-from" name="from" type="date" defaultValue={from} key={`f${from}`} required />
        </div>
        <div className="field">
          <label htmlFor="an-to">To</label>
          <input id="an-to" name="to" type="date" defaultValue={to} key={`t${to}`} required />
        </div>
        <button type="submit">Show</button>
        <button type="button" onClick={exportCsv} disabled={!rangeOk || exportState.busy}>
          Export CSV
        </button>
      </form>
      {!rangeOk && <p role="alert" className="error">“From” must be a day on or before “To”.</p>}
      {exportState.error && <p role="alert" className="error">Export failed: {exportState.error}</p>}
      {exportState.busy && <StatusMessage>Exporting…</StatusMessage>}
      {exportState.done && <StatusMessage>{exportState.done}</StatusMessage>}

      <section aria-labelledby="an-figures">
        <h2 id="an-figures">Figures</h2>
        {totals.isPending && rangeOk ? <Loading what="figures" /> : null}
        <ApiError error={totals.error} />
        {all && (
          <dl className="figures">
            {all.sales.length === 0 && (
              <div>
                <dt>Revenue</dt>
                <dd>No sales</dd>
              </div>
            )}
            {all.sales.map((s) => (
              <div key={s.currency}>
                <dt>Revenue ({s.currency})</dt>
                <dd>{fmtMinor(s.totalSales ?? 0n, s.currency)}</dd>
              </div>
            ))}
            {all.sales.map((s) => (
              <div key={"n" + s.currency}>
                <dt>Net sales ({s.currency})</dt>
                <dd>{fmtMinor(s.netSales ?? 0n, s.currency)}</dd>
              </div>
            ))}
            <div>
              <dt>Orders</dt>
              <dd>{String(all.orderCount ?? 0n)}</dd>
            </div>
            <div>
              <dt>Units sold</dt>
              <dd>{String(all.unitsSold ?? 0n)}</dd>
            </div>
            {all.sales.map((s) => (
              <div key={"a" + s.currency}>
                <dt>Average order ({s.currency})</dt>
                <dd>{fmtMinor(s.averageOrderValue ?? 0n, s.currency)}</dd>
              </div>
            ))}
            <div>
              <dt>Conversion</dt>
              <dd>
                {percent(all.conversionRate)}
                {all.sessions !== undefined && (
                  <span className="hint">
                    {" "}
                    ({String(all.convertedSessions ?? 0n)} of {String(all.sessions)} sessions)
                  </span>
                )}
              </dd>
            </div>
            <div>
              <dt>Refund rate</dt>
              <dd>{percent(all.refundRate)}</dd>
            </div>
            <div>
              <dt>New customers</dt>
              <dd>{String(all.newCustomers ?? 0n)}</dd>
            </div>
          </dl>
        )}
      </section>

      <section aria-labelledby="an-chart">
        <h2 id="an-chart">Sales over time</h2>
        {perDay.isPending && rangeOk ? <Loading what="sales" /> : null}
        <ApiError error={perDay.error} />
        {currencies.length > 1 && (
          <div className="field inline">
            <label htmlFor="an-cur">Currency</label>
            <select id="an-cur" value={currency} onChange={(e) => setChosen(e.target.value)}>
              {currencies.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </div>
        )}
        {perDay.data && (currency ? <SalesChart rows={perDay.data.rows} currency={currency} /> : <p>No sales in this period.</p>)}
      </section>

      <section aria-labelledby="an-top">
        <h2 id="an-top">Best sellers</h2>
        {top.isPending && rangeOk ? <Loading what="top products" /> : null}
        <ApiError error={top.error} />
        {top.data && (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption>Top products</caption>
              <thead>
                <tr>
                  <th scope="col">Product</th>
                  <th scope="col">Units sold</th>
                  <th scope="col">Orders</th>
                  <th scope="col">Sales</th>
                </tr>
              </thead>
              <tbody>
                {top.data.rows.length === 0 && (
                  <tr>
                    <td colSpan={4}>No sales in this period.</td>
                  </tr>
                )}
                {top.data.rows.map((r) => (
                  <tr key={r.key}>
                    <th scope="row">{r.label}</th>
                    <td>{String(r.unitsSold ?? 0n)}</td>
                    <td>{String(r.orderCount ?? 0n)}</td>
                    <td>{r.sales.map((s) => fmtMinor(s.totalSales ?? 0n, s.currency)).join(", ")}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
