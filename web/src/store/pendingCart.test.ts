import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { CartService } from "../gen/shop/cart/v1/cart_pb";
import { addPending, cartNotice, flushPending, pendingItems } from "./pendingCart";

function cartClient(answer: (productId: bigint) => void) {
  const transport = createRouterTransport(({ service }) => {
    service(CartService, {
      addCartItem: (req) => {
        answer(req.productId);
        return {};
      },
    });
  });
  return createClient(CartService, transport);
}

describe("flushPending", () => {
  afterEach(() => {
    localStorage.clear();
    sessionStorage.clear();
  });

  it("adds every kept item and forgets them", async () => {
    addPending({ productId: 1n, variantId: 0n, quantity: 2, name: "Tee" });
    addPending({ productId: 2n, variantId: 0n, quantity: 1, name: "Mug" });
    const added: bigint[] = [];
    const r = await flushPending(localStorage, cartClient((id) => added.push(id)));
    expect(r).toEqual({ added: 2, failed: [], kept: 0 });
    expect(added).toEqual([1n, 2n]);
    expect(pendingItems()).toEqual([]);
    expect(cartNotice()).toBe("");
  });

  it("tells which items were refused and keeps the ones the network lost", async () => {
    addPending({ productId: 1n, variantId: 0n, quantity: 1, name: "Tee" });
    addPending({ productId: 2n, variantId: 0n, quantity: 1, name: "Mug" });
    addPending({ productId: 3n, variantId: 0n, quantity: 1, name: "Cap" });
    const r = await flushPending(
      localStorage,
      cartClient((id) => {
        if (id === 1n) throw new ConnectError("only 0 left", Code.FailedPrecondition);
        if (id === 3n) throw new ConnectError("upstream down", Code.Unavailable);
      }),
    );
    expect(r).toEqual({ added: 1, failed: ["Tee: only 0 left"], kept: 1 });
    expect(pendingItems().map((i) => i.productId)).toEqual(["3"]);
    expect(cartNotice()).toMatch(/^1 item could not be added to your cart: Tee: only 0 left 1 item is kept for later/);
  });
});
