// Pure helpers of the admin: money input parsing, Temporal UI links, API
// error wording and dates. No React here, so they are easy to test.
import { Code, ConnectError } from "@connectrpc/connect";
import { errorMessage } from "../api/errors";

import type { Parsed } from "../money";

// Money parsing and formatting live in ../money (one module for the whole app).
export { parseMinorUnits, type Parsed, parseMoney as parseMoneyInput, formatMinor as fmtMinor } from "../money";

/** The Temporal UI page of a workflow, or "" when the UI or the id is unknown. */
export function temporalWorkflowUrl(ui: string | undefined, namespace: string | undefined, workflowId: string | undefined): string {
  if (!ui || !workflowId) return "";
  const base = ui.replace(/\/+$/, "");
  return `${base}/namespaces/${encodeURIComponent(namespace || "default")}/workflows/${encodeURIComponent(workflowId)}`;
}

// Error decoding and wording are shared with the storefront (../api/errors).
export { fieldViolations, type FieldViolation } from "../api/errors";

/** An API error in words for staff. */
export const errorText = (err: unknown): string => errorMessage(err, { staff: true });

export function isPermissionDenied(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.PermissionDenied;
}

/** YYYY-MM-DD of a date in the browser's time zone. */
export function isoDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The local start (00:00:00) or end (23:59:59) of a YYYY-MM-DD day; undefined for a bad day. */
export function dayBound(day: string, end: boolean): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  const d = end
    ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59)
    : new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 0, 0, 0);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** "Size=M, Colour=Red" <-> {Size: "M", Colour: "Red"}. */
export function parseAttributes(s: string): Parsed<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const part of s.split(",")) {
    if (part.trim() === "") continue;
    const i = part.indexOf("=");
    if (i <= 0) return { ok: false, error: `"${part.trim()}" is not name=value` };
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (!k) return { ok: false, error: `"${part.trim()}" has no name` };
    out[k] = v;
  }
  return { ok: true, value: out };
}

export function formatAttributes(a: Record<string, string> | undefined): string {
  return Object.entries(a ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
}

export { finalOrderStatuses, formatTime } from "../orders";

export const orderStatuses = [
  "awaiting_payment",
  "paid",
  "partially_shipped",
  "shipped",
  "delivered",
  "payment_failed",
  "cancelled",
  "partially_refunded",
  "refunded",
] as const;

/** What staff may do with a shipment in a status. */
export function shipmentActions(status: string): { pick: boolean; pack: boolean; ship: boolean; deliver: boolean; problem: boolean; resolveLost: boolean } {
  return {
    pick: status === "pending",
    pack: status === "picked",
    ship: status === "packed",
    deliver: status === "shipped" || status === "in_transit" || status === "out_for_delivery",
    problem: status !== "delivered" && status !== "cancelled",
    resolveLost: status === "lost",
  };
}
