import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { create } from "@bufbuild/protobuf";
import { OrderSchema } from "../gen/shop/order/v1/order_pb";
import { PaymentSection } from "./PaymentSection";
import { payWithTestCard, waitUntilPaid } from "./payment";

vi.mock("./payment", () => ({ payWithTestCard: vi.fn(), waitUntilPaid: vi.fn() }));

const order = create(OrderSchema, { id: 7n, status: "awaiting_payment" });

function setup(onPaid = vi.fn()) {
  const view = render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <PaymentSection order={order} onPaid={onPaid} />
    </QueryClientProvider>,
  );
  return { onPaid, ...view };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

describe("PaymentSection", () => {
  beforeEach(() => {
    vi.stubGlobal("fetch", vi.fn(async () => Response.json({ testPayments: true, stripePublishableKey: "" })));
    vi.mocked(payWithTestCard).mockResolvedValue(undefined);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.mocked(waitUntilPaid).mockReset();
  });

  it("reports the payment once the order is paid", async () => {
    vi.mocked(waitUntilPaid).mockResolvedValue("paid");
    const { onPaid } = setup();
    await userEvent.click(await screen.findByRole("button", { name: "Pay with test card" }));
    await waitFor(() => expect(onPaid).toHaveBeenCalledWith("paid"));
  });

  it("shows a failed wait and lets the customer try again", async () => {
    vi.mocked(waitUntilPaid).mockRejectedValue(new Error("The shop is not reachable right now; please try again."));
    const { onPaid } = setup();
    const pay = await screen.findByRole("button", { name: "Pay with test card" });
    await userEvent.click(pay);
    expect(await screen.findByRole("alert")).toHaveTextContent("not reachable");
    expect(pay).toBeEnabled();
    expect(onPaid).not.toHaveBeenCalled();
  });

  it("does nothing more once it is gone (the customer went elsewhere)", async () => {
    const d = deferred<string>();
    vi.mocked(waitUntilPaid).mockReturnValue(d.promise);
    const { onPaid, unmount } = setup();
    await userEvent.click(await screen.findByRole("button", { name: "Pay with test card" }));
    await waitFor(() => expect(waitUntilPaid).toHaveBeenCalled());
    const signal = vi.mocked(waitUntilPaid).mock.calls[0]?.[2];
    unmount();
    expect(signal?.aborted).toBe(true);
    d.resolve("paid");
    await new Promise((res) => setTimeout(res, 0));
    expect(onPaid).not.toHaveBeenCalled();
  });
});
