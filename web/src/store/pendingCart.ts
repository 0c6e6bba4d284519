// The cart lives on the server and needs an account. A guest's "Add to cart"
// is kept here until they sign in or sign up, then added to their cart.
import type { Client } from "@connectrpc/connect";
import { CartService } from "../gen/shop/cart/v1/cart_pb";
import { client } from "../api/transport";
import { errorMessage, isUnknownOutcome } from "../api/errors";

export interface PendingItem {
  productId: string; // bigint as a decimal string (JSON has no bigint)
  variantId: string;
  quantity: number;
  /** The product's name, for a message when it cannot be added. */
  name?: string;
}

const key = "shop.pendingCart";
const noticeKey = "shop.pendingCart.notice";

export function pendingItems(storage: Storage = localStorage): PendingItem[] {
  try {
    const v: unknown = JSON.parse(storage.getItem(key) ?? "[]");
    return Array.isArray(v) ? (v as PendingItem[]).filter((i) => /^\d+$/.test(i.productId) && /^\d+$/.test(i.variantId) && i.quantity > 0) : [];
  } catch {
    return [];
  }
}

function keep(items: PendingItem[], storage: Storage) {
  if (items.length) storage.setItem(key, JSON.stringify(items));
  else storage.removeItem(key);
}

export function addPending(item: { productId: bigint; variantId: bigint; quantity: number; name?: string }, storage: Storage = localStorage): void {
  const items = pendingItems(storage);
  items.push({ productId: item.productId.toString(), variantId: item.variantId.toString(), quantity: item.quantity, name: item.name });
  keep(items, storage);
}

export interface FlushResult {
  added: number;
  /** Items the cart refused (out of stock, gone), in words. */
  failed: string[];
  /** Items kept for a later try because the shop could not be reached. */
  kept: number;
}

/**
 * Adds the kept items to the signed-in user's cart. Each item leaves the
 * list only once added or definitely refused; the ones the network lost stay
 * for the next sign-in. A message about what went wrong is left for the cart
 * page (cartNotice).
 */
export async function flushPending(
  storage: Storage = localStorage,
  cart: Client<typeof CartService> = client(CartService),
): Promise<FlushResult> {
  const items = pendingItems(storage);
  const result: FlushResult = { added: 0, failed: [], kept: 0 };
  const left = [...items];
  const kept: PendingItem[] = [];
  for (const i of items) {
    left.shift();
    try {
      await cart.addCartItem({ productId: BigInt(i.productId), variantId: BigInt(i.variantId), quantity: i.quantity });
      result.added++;
    } catch (err) {
      if (isUnknownOutcome(err)) {
        kept.push(i);
        result.kept++;
      } else {
        result.failed.push(`${i.name || "An item"}: ${errorMessage(err)}`);
      }
    }
    keep([...kept, ...left], storage);
  }
  const notice = [
    result.failed.length ? `${result.failed.length === 1 ? "1 item" : `${result.failed.length} items`} could not be added to your cart: ${result.failed.join(" ")}` : "",
    result.kept ? `${result.kept === 1 ? "1 item is" : `${result.kept} items are`} kept for later: the shop could not be reached.` : "",
  ]
    .filter(Boolean)
    .join(" ");
  try {
    if (notice) sessionStorage.setItem(noticeKey, notice);
  } catch {
    // no session storage: the cart shows what is there
  }
  return result;
}

/** The message flushPending left for the cart page ("" for none); forgetNotice removes it once shown. */
export function cartNotice(): string {
  try {
    return sessionStorage.getItem(noticeKey) ?? "";
  } catch {
    return "";
  }
}

export function forgetCartNotice(): void {
  try {
    sessionStorage.removeItem(noticeKey);
  } catch {
    // nothing to forget
  }
}
