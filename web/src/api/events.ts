import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { BehaviourEventSchema, EventService } from "../gen/shop/events/v1/events_pb";
import { client } from "./transport";
import { newKey } from "./ids";


/** A stable anonymous id for this browser, shared by its tabs. */
export function browserSessionId(): string {
  const key = "shop.sid";
  try {
    let id = localStorage.getItem(key);
    if (!id || id.length < 8) {
      id = newKey();
      localStorage.setItem(key, id);
    }
    return id;
  } catch {
    return newKey();
  }
}

export type EventType = "view" | "search" | "add_to_cart" | "remove_from_cart" | "checkout_started";

/** Records a behaviour event without waiting for it; failures are ignored. */
export function recordEvent(type: EventType, e: { productId?: bigint; variantId?: bigint; quantity?: number; query?: string } = {}): void {
  const ev = create(BehaviourEventSchema, {
    eventId: newKey(),
    type,
    productId: e.productId ?? 0n,
    variantId: e.variantId ?? 0n,
    quantity: e.quantity ?? 0,
    query: (e.query ?? "").slice(0, 200),
    occurredAt: timestampNow(),
  });
  client(EventService)
    .recordEvents({ sessionId: browserSessionId(), events: [ev] })
    .catch(() => undefined);
}
