import { useQueryClient } from "@tanstack/react-query";
import { createConnectQueryKey, useQuery, useTransport } from "@connectrpc/connect-query";
import { CartService, type Cart } from "../gen/shop/cart/v1/cart_pb";
import { useSignedIn } from "../auth/useSession";

/** The signed-in user's cart (nothing while signed out). */
export function useCart() {
  const signedIn = useSignedIn();
  return useQuery(CartService.method.getCart, {}, { enabled: signedIn });
}

/** Puts a cart a mutation answered into the cache, so every view of it updates. */
export function useSetCart() {
  const qc = useQueryClient();
  const transport = useTransport();
  return (cart: Cart | undefined) => {
    if (!cart) return;
    const key = createConnectQueryKey({ schema: CartService.method.getCart, input: {}, transport, cardinality: "finite" });
    qc.setQueryData(key, (old) => (old ? { ...old, cart } : old));
    void qc.invalidateQueries({ queryKey: createConnectQueryKey({ schema: CartService.method.getCart, cardinality: undefined }) });
  };
}

export function cartCount(cart: Cart | undefined): number {
  return cart?.lines.reduce((n, l) => n + l.quantity, 0) ?? 0;
}
