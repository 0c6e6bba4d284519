// The admin for staff and admins: one lazy chunk with its own routes. Staff
// and admins see the same pages; what only admins may do is disabled for
// staff, and the API's PermissionDenied is shown when it refuses anyway.
import { lazy, Suspense, type ReactNode } from "react";
import { Link, NavLink, Route, Routes, useLocation } from "react-router";
import { useRouteFocus } from "../components/useRouteFocus";
import { useMe, useSignedIn } from "../auth/useSession";
import { ApiError, Loading, RoleContext, type Role } from "./ui";
import "./admin.css";

const Dashboard = lazy(() => import("./Dashboard"));
const Products = lazy(() => import("./Products"));
const ProductEdit = lazy(() => import("./ProductEdit"));
const Categories = lazy(() => import("./Categories"));
const Stock = lazy(() => import("./Stock"));
const Orders = lazy(() => import("./Orders"));
const OrderDetail = lazy(() => import("./OrderDetail"));
const Fulfilment = lazy(() => import("./Fulfilment"));
const Returns = lazy(() => import("./Returns"));
const Coupons = lazy(() => import("./Coupons"));
const Users = lazy(() => import("./Users"));

const sections: [string, string][] = [
  ["/admin", "Dashboard"],
  ["/admin/products", "Products"],
  ["/admin/categories", "Categories"],
  ["/admin/stock", "Stock"],
  ["/admin/orders", "Orders"],
  ["/admin/fulfilment", "Fulfilment"],
  ["/admin/returns", "Returns"],
  ["/admin/coupons", "Coupons"],
  ["/admin/users", "Users"],
];

function Shell({ children, role }: { children: ReactNode; role?: Role }) {
  useRouteFocus("admin-main");
  return (
    <div className="admin">
      <a className="skip-link" href="#admin-main">
        Skip to content
      </a>
      <header className="admin-header">
        <Link to="/admin" className="brand">
          Shop admin
        </Link>
        {role && <span className="who">Signed in as {role}</span>}
        <Link to="/">Back to the shop</Link>
      </header>
      {role && (
        <nav aria-label="Admin" className="admin-nav">
          <ul>
            {sections.map(([to, name]) => (
              <li key={to}>
                <NavLink to={to} end={to === "/admin"}>
                  {name}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main id="admin-main" className="admin-main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

export default function AdminApp() {
  const signedIn = useSignedIn();
  const me = useMe();
  const location = useLocation();
  if (!signedIn) {
    const next = encodeURIComponent(location.pathname + location.search).replaceAll("%2F", "/");
    return (
      <Shell>
        <h1>Sign in to use the admin</h1>
        <p>
          The admin is for the shop's staff. <Link to={`/signin?next=${next}`}>Sign in</Link> with a staff account.
        </p>
      </Shell>
    );
  }
  if (me.isPending) {
    return (
      <Shell>
        <Loading what="your account" />
      </Shell>
    );
  }
  if (me.error) {
    return (
      <Shell>
        <h1>Admin</h1>
        <ApiError error={me.error} />
      </Shell>
    );
  }
  const role = me.data.user?.role;
  if (role !== "staff" && role !== "admin") {
    return (
      <Shell>
        <h1>You need a staff account</h1>
        <p>
          403: you are signed in as {me.data.user?.username ?? "a customer"}, and the admin is for staff and admins only.{" "}
          <Link to="/signin?next=/admin">Sign in with another account</Link> or <Link to="/">go back to the shop</Link>.
        </p>
      </Shell>
    );
  }
  return (
    <RoleContext value={role}>
      <Shell role={role}>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route index element={<Dashboard />} />
            <Route path="products" element={<Products />} />
            <Route path="products/new" element={<ProductEdit />} />
            <Route path="products/:productId" element={<ProductEdit />} />
            <Route path="categories" element={<Categories />} />
            <Route path="stock" element={<Stock />} />
            <Route path="orders" element={<Orders />} />
            <Route path="orders/:orderId" element={<OrderDetail />} />
            <Route path="fulfilment" element={<Fulfilment />} />
            <Route path="returns" element={<Returns />} />
            <Route path="coupons" element={<Coupons />} />
            <Route path="users" element={<Users />} />
            <Route
              path="*"
              element={
                <>
                  <h1>Page not found</h1>
                  <p>
                    <Link to="/admin">Back to the dashboard</Link>
                  </p>
                </>
              }
            />
          </Routes>
        </Suspense>
      </Shell>
    </RoleContext>
  );
}
