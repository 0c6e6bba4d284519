import { lazy, Suspense, type ReactNode } from "react";
import { createBrowserRouter } from "react-router";
import { StoreLayout } from "./store/StoreLayout";
import { Home } from "./store/Home";
import { NotFound } from "./components/NotFound";
import { Loading } from "./components/Loading";

// The first page needs only the storefront shell and the home page; every
// other page, and the whole admin, is its own chunk loaded on navigation.
const page = (load: () => Promise<{ default: React.ComponentType }>): ReactNode => {
  const Page = lazy(load);
  return (
    <Suspense fallback={<Loading />}>
      <Page />
    </Suspense>
  );
};

export const router = createBrowserRouter([
  {
    path: "/",
    element: <StoreLayout />,
    children: [
      { index: true, element: <Home /> },
      { path: "search", element: page(() => import("./store/SearchPage")) },
      { path: "c/:categoryId", element: page(() => import("./store/SearchPage")) },
      { path: "p/:productId", element: page(() => import("./store/ProductPage")) },
      { path: "cart", element: page(() => import("./store/CartPage")) },
      { path: "checkout", element: page(() => import("./store/CheckoutPage")) },
      { path: "signin", element: page(() => import("./store/SignInPage")) },
      { path: "signup", element: page(() => import("./store/SignUpPage")) },
      { path: "account", element: page(() => import("./store/AccountPage")) },
      { path: "account/orders", element: page(() => import("./store/OrdersPage")) },
      { path: "account/orders/:orderId", element: page(() => import("./store/OrderPage")) },
      { path: "*", element: <NotFound /> },
    ],
  },
  { path: "/admin/*", element: page(() => import("./admin/AdminApp")) },
]);
