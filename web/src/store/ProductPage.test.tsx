import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { TransportProvider } from "@connectrpc/connect-query";
import { createRouterTransport } from "@connectrpc/connect";
import { createMemoryRouter, RouterProvider } from "react-router";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb";
import { RecommendationService } from "../gen/shop/recommendation/v1/recommendation_pb";
import ProductPage from "./ProductPage";

const usd = (amountMinor: bigint) => ({ amountMinor, currency: "USD" });

function setup() {
  const transport = createRouterTransport(({ service }) => {
    service(CatalogService, {
      getProduct: () => ({
        product: {
          id: 5n,
          sku: "TEE",
          name: "Plain tee",
          active: true,
          priceMoney: usd(1500n),
          stockQuantity: 0,
          variants: [
            { id: 51n, sku: "TEE-S-RED", attributes: { size: "S", colour: "red" }, priceMoney: usd(1500n), stockQuantity: 12, active: true },
            { id: 52n, sku: "TEE-M-RED", attributes: { size: "M", colour: "red" }, priceMoney: usd(1700n), stockQuantity: 3, active: true },
            { id: 53n, sku: "TEE-M-BLUE", attributes: { size: "M", colour: "blue" }, priceMoney: usd(1700n), stockQuantity: 0, active: true },
          ],
        },
      }),
    });
    service(RecommendationService, {
      alsoBought: () => ({ recommendations: [{ product: { id: 6n, name: "Socks", priceMoney: usd(500n) } }] }),
    });
  });
  const router = createMemoryRouter([{ path: "/p/:productId", element: <ProductPage /> }], { initialEntries: ["/p/5"] });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </TransportProvider>,
  );
}

describe("ProductPage", () => {
  it("shows the chosen variant's price, stock and SKU", async () => {
    const user = userEvent.setup();
    setup();
    await screen.findByRole("heading", { level: 1, name: "Plain tee" });
    // The first variant in stock is chosen at first.
    expect(screen.getByText("$15.00")).toBeInTheDocument();
    expect(screen.getByText("In stock")).toBeInTheDocument();
    expect(screen.getByText("SKU TEE-S-RED")).toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText("Size"), "M");
    expect(screen.getByText("$17.00")).toBeInTheDocument();
    expect(screen.getByText("Only 3 left")).toBeInTheDocument();
    expect(screen.getByText("SKU TEE-M-RED")).toBeInTheDocument();

    await user.selectOptions(screen.getByLabelText("Colour"), "blue");
    expect(screen.getByText("Out of stock")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Add to cart" })).toBeDisabled();

    await user.selectOptions(screen.getByLabelText("Size"), "S");
    expect(screen.getByText("This combination is not available")).toBeInTheDocument();

    expect(await screen.findByRole("link", { name: "Socks" })).toHaveAttribute("href", "/p/6");
    expect(screen.getByRole("heading", { name: "Customers also bought" })).toBeInTheDocument();
  });
});
