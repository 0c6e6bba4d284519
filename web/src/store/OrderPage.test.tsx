import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { TransportProvider } from "@connectrpc/connect-query";
import { createRouterTransport } from "@connectrpc/connect";
import { createMemoryRouter, RouterProvider } from "react-router";
import { OrderService } from "../gen/shop/order/v1/order_pb";
import { ReturnService } from "../gen/shop/returns/v1/returns_pb";
import OrderPage from "./OrderPage";

function setup(status: string) {
  const transport = createRouterTransport(({ service }) => {
    service(OrderService, {
      getOrder: () => ({
        order: { id: 42n, status, clientSecret: "pi_1_secret_2", totals: { total: { amountMinor: 2500n, currency: "USD" } } },
      }),
    });
    service(ReturnService, { listOrderReturns: () => ({ returns: [] }) });
  });
  const router = createMemoryRouter([{ path: "/account/orders/:orderId", element: <OrderPage /> }], { initialEntries: ["/account/orders/42"] });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </TransportProvider>,
  );
}

function serveConfig(res: () => Promise<Response>) {
  vi.stubGlobal("fetch", vi.fn(res));
}

describe("OrderPage", () => {
  beforeEach(() => {
    localStorage.setItem("shop.session", JSON.stringify({ accessToken: "a", refreshToken: "r", expiresAt: Date.now() + 900_000 }));
  });
  afterEach(() => {
    localStorage.clear();
    vi.unstubAllGlobals();
  });

  it("offers payment while the order awaits it", async () => {
    serveConfig(async () => Response.json({ testPayments: true, stripePublishableKey: "" }));
    setup("awaiting_payment");
    await screen.findByRole("heading", { level: 1, name: "Order 42" });
    const region = await screen.findByRole("region", { name: "Test payment (development only)" });
    expect(region).toContainElement(screen.getByRole("button", { name: "Pay with test card" }));
    expect(screen.getByText(/waits for payment of/)).toHaveTextContent("$25.00");
  });

  it("offers no payment once the order is paid", async () => {
    serveConfig(async () => Response.json({ testPayments: true, stripePublishableKey: "" }));
    setup("paid");
    await screen.findByRole("heading", { level: 1, name: "Order 42" });
    expect(screen.queryByRole("button", { name: "Pay with test card" })).toBeNull();
    expect(screen.queryByRole("heading", { name: "Payment" })).toBeNull();
  });

  it("says so when the payment options cannot be loaded", async () => {
    serveConfig(async () => new Response("no", { status: 503 }));
    setup("awaiting_payment");
    expect(await screen.findByText(/Payment options could not be loaded/)).toBeInTheDocument();
  });
});
