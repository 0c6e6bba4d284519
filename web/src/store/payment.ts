import { OrderService } from "../gen/shop/order/v1/order_pb";
import { authedFetch, client } from "../api/transport";

/**
 * Asks the development server to pay the order as a test card would (it
 * signs a payment_intent.succeeded event and delivers it through the real
 * webhook). Offered only when the server says testPayments.
 */
export async function payWithTestCard(orderId: bigint): Promise<void> {
  const r = await authedFetch("/api/dev/test-payment", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ order_id: orderId.toString() }),
  });
  if (!r.ok) {
    let msg = `The test payment failed (${r.status}).`;
    try {
      const body = (await r.json()) as { message?: string; error?: string };
      msg = body.message ?? body.error ?? msg;
    } catch {
      // not JSON: keep the status
    }
    throw new Error(msg);
  }
}

/** Polls the order until it leaves awaiting_payment (or the deadline passes); answers its status. */
export async function waitUntilPaid(orderId: bigint, timeoutMs = 60_000, signal?: AbortSignal): Promise<string> {
  const orders = client(OrderService);
  const deadline = Date.now() + timeoutMs;
  let status = "awaiting_payment";
  while (Date.now() < deadline && !signal?.aborted) {
    const r = await orders.getOrder({ orderId }, { signal });
    status = r.order?.status ?? status;
    if (status !== "awaiting_payment") return status;
    await new Promise((res) => setTimeout(res, 1000));
  }
  return status;
}
