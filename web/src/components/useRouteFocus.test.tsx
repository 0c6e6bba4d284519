import { describe, expect, it, vi } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryRouter, Link, Outlet, RouterProvider } from "react-router";
import { useRouteFocus } from "./useRouteFocus";

function Layout() {
  useRouteFocus("main");
  return (
    <>
      <nav>
        <Link to="/b">Go to B</Link>
        <Link to="/a?x=1">Same page, other query</Link>
      </nav>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

describe("useRouteFocus", () => {
  it("moves focus to the new page's heading, not on a query change", async () => {
    const router = createMemoryRouter(
      [{ path: "/", element: <Layout />, children: [{ path: "a", element: <h1>Page A</h1> }, { path: "b", element: <h1>Page B</h1> }] }],
      { initialEntries: ["/a"] },
    );
    const scrollTo = vi.fn();
    vi.stubGlobal("scrollTo", scrollTo);
    render(<RouterProvider router={router} />);
    const user = userEvent.setup();
    await user.click(screen.getByRole("link", { name: "Same page, other query" }));
    await new Promise((res) => setTimeout(res, 50));
    expect(screen.getByRole("heading", { name: "Page A" })).not.toHaveFocus();

    await user.click(screen.getByRole("link", { name: "Go to B" }));
    await waitFor(() => expect(screen.getByRole("heading", { name: "Page B" })).toHaveFocus());
    expect(scrollTo).toHaveBeenCalledWith(0, 0);
    vi.unstubAllGlobals();
  });
});
