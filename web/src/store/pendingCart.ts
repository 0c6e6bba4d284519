// The cart lives on the server and needs an account. A guest's "Add to cart"
// is kept here until they sign in or sign up, then added to their cart.
import { CartService } from "../gen/shop/cart/v1/cart_pb";
import { client } from "../api/transport";

export interface PendingItem {
  productId: string; // bigint as a decimal string (JSON has no bigint)
  variantId: string;
  quantity: number;
}

const key = "shop.pendingCart";

export function pendingItems(storage: Storage = localStorage): PendingItem[] {
  try {
    const v: unknown = JSON.parse(storage.getItem(key) ?? "[]");
    return Array.isArray(v) ? (v as PendingItem[]).filter((i) => /^\d+$/.test(i.productId) && /^\d+$/.test(i.variantId) && i.quantity > 0) : [];
  } catch {
    return [];
  }
}

export function addPending(item: { productId: bigint; variantId: bigint; quantity: number }, storage: Storage = localStorage): void {
  const items = pendingItems(storage);
  items.push({ productId: item.productId.toString(), variantId: item.variantId.toString(), quantity: item.quantity });
  storage.setItem(key, JSON.stringify(items));
}

/** Adds the kept items to the signed-in user's cart; answers how many were added. */
export async function flushPending(): Promise<number> {
  const items = pendingItems();
  if (items.length === 0) return 0;
  localStorage.removeItem(key);
  const cart = client(CartService);
  let added = 0;
  for (const i of items) {
    try {
      await cart.addCartItem({ productId: BigInt(i.productId), variantId: BigInt(i.variantId), quantity: i.quantity });
      added++;
    } catch {
      // out of stock or gone since: the cart page shows what is there
    }
  }
  return added;
}
