import { render, screen } from "@testing-library/react";
import { createRouterTransport } from "@connectrpc/connect";
import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";
import { session } from "../api/transport";
import AdminApp from "./AdminApp";

function renderAdmin(role: string | null) {
  if (role) session.signIn({ accessToken: "a", refreshToken: "r", expiresIn: 3600 });
  else session.signOut();
  const transport = createRouterTransport(({ service }) => {
    service(AuthService, { me: () => ({ user: { id: 1n, username: "pat", role: role ?? "" } }) });
  });
  render(
    <TransportProvider transport={transport}>
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <MemoryRouter initialEntries={["/admin/orders?status=paid"]}>
          <Routes>
            <Route path="/admin/*" element={<AdminApp />} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>
    </TransportProvider>,
  );
}

afterEach(() => session.signOut());

describe("AdminApp access", () => {
  it("asks a signed-out visitor to sign in and come back", () => {
    renderAdmin(null);
    expect(screen.getByRole("link", { name: "Sign in" })).toHaveAttribute("href", "/signin?next=/admin/orders%3Fstatus%3Dpaid");
    expect(screen.queryByRole("navigation", { name: "Admin" })).toBeNull();
  });

  it("refuses a customer", async () => {
    renderAdmin("customer");
    expect(await screen.findByRole("heading", { name: "You need a staff account" })).toBeInTheDocument();
    expect(screen.queryByRole("navigation", { name: "Admin" })).toBeNull();
  });

  it("shows staff the admin navigation", async () => {
    renderAdmin("staff");
    const nav = await screen.findByRole("navigation", { name: "Admin" });
    for (const name of ["Dashboard", "Products", "Categories", "Stock", "Orders", "Fulfilment", "Returns", "Coupons", "Users"]) {
      expect(nav).toContainElement(screen.getByRole("link", { name }));
    }
    expect(await screen.findByRole("heading", { level: 1, name: "Orders" })).toBeInTheDocument();
  });
});
