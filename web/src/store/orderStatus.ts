import type { Order } from "../gen/shop/order/v1/order_pb";

/** Statuses after which an order no longer changes by itself. */
const settled = new Set(["delivered", "cancelled", "payment_failed", "refunded", "partially_refunded"]);

export const isSettled = (status: string) => settled.has(status);
export const isCancellable = (o: Order) => o.status === "awaiting_payment" || o.status === "paid";
export const isReturnable = (o: Order) =>
  o.status === "delivered" || o.status === "partially_refunded" || o.shipments.some((s) => s.status === "delivered" || !!s.deliveredAt);

export function statusLabel(status: string): string {
  return status.replace(/_/g, " ");
}

export function formatTime(t: { seconds: bigint; nanos: number } | undefined): string {
  if (!t) return "";
  return new Date(Number(t.seconds) * 1000).toLocaleString();
}
