import type { Order } from "../gen/shop/order/v1/order_pb";

import { isFinalOrderStatus } from "../orders";

export { formatTime } from "../orders";
export const isSettled = isFinalOrderStatus;
export const isCancellable = (o: Order) => o.status === "awaiting_payment" || o.status === "paid";
export const isReturnable = (o: Order) =>
  o.status === "delivered" || o.status === "partially_refunded" || o.shipments.some((s) => s.status === "delivered" || !!s.deliveredAt);

export function statusLabel(status: string): string {
  return status.replace(/_/g, " ");
}
