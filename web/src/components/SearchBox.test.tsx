import { describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { TransportProvider } from "@connectrpc/connect-query";
import { createRouterTransport } from "@connectrpc/connect";
import { createMemoryRouter, RouterProvider, useLocation } from "react-router";
import { CatalogService } from "../gen/shop/catalog/v1/catalog_pb";
import { SearchBox } from "./SearchBox";

function Where() {
  const l = useLocation();
  return <p data-testid="where">{l.pathname + l.search}</p>;
}

function setup() {
  const asked: string[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(CatalogService, {
      suggestProducts: (req) => {
        asked.push(req.q);
        return { suggestions: [{ productId: 7n, name: "Laptop stand" }, { productId: 9n, name: "Laptop bag" }] };
      },
    });
  });
  const router = createMemoryRouter([{ path: "*", element: <><SearchBox /><Where /></> }], { initialEntries: ["/"] });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </TransportProvider>,
  );
  return { asked };
}

describe("SearchBox", () => {
  it("suggests as you type, moves with the arrow keys, closes on Escape", async () => {
    const user = userEvent.setup();
    const { asked } = setup();
    const box = screen.getByRole("combobox", { name: "Search products" });
    await user.type(box, "lap");
    await screen.findByRole("option", { name: "Laptop stand" });
    expect(asked).toEqual(["lap"]); // debounced: one question for the whole word
    expect(box).toHaveAttribute("aria-expanded", "true");

    await user.keyboard("{ArrowDown}{ArrowDown}");
    const active = box.getAttribute("aria-activedescendant");
    expect(active).toBeTruthy();
    expect(document.getElementById(active ?? "")).toHaveTextContent("Laptop bag");
    expect(screen.getByRole("option", { name: "Laptop bag" })).toHaveAttribute("aria-selected", "true");

    await user.keyboard("{Escape}");
    expect(box).toHaveAttribute("aria-expanded", "false");
    expect(box).not.toHaveAttribute("aria-activedescendant");
  });

  it("Enter opens the highlighted product, or searches for the text", async () => {
    const user = userEvent.setup();
    setup();
    const box = screen.getByRole("combobox", { name: "Search products" });
    await user.type(box, "lap");
    await screen.findByRole("option", { name: "Laptop stand" });
    await user.keyboard("{ArrowDown}{Enter}");
    await waitFor(() => expect(screen.getByTestId("where")).toHaveTextContent("/p/7"));

    await user.clear(box);
    await user.type(box, "red shoes{Enter}");
    await waitFor(() => expect(screen.getByTestId("where")).toHaveTextContent("/search?q=red%20shoes"));
  });
});
