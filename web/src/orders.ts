// Order facts shared by the storefront and the admin.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";

/**
 * Order statuses after which the order no longer changes by itself (only
 * staff act on it: a refund, a return), so views stop polling it.
 */
export const finalOrderStatuses: ReadonlySet<string> = new Set(["delivered", "cancelled", "payment_failed", "refunded", "partially_refunded"]);

export const isFinalOrderStatus = (status: string) => finalOrderStatuses.has(status);

/** A date and time in the browser's locale and time zone. */
export function formatTime(ts: Timestamp | undefined): string {
  if (!ts) return "";
  return timestampDate(ts).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
