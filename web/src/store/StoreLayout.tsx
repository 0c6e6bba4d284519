import { Link, Outlet, useLocation } from "react-router";
import { SearchBox } from "../components/SearchBox";
import { useRouteFocus } from "../components/useRouteFocus";
import { useMe, useSignedIn } from "../auth/useSession";
import { cartCount, useCart } from "./cartQuery";

export function StoreLayout() {
  const signedIn = useSignedIn();
  const me = useMe();
  const cart = useCart();
  const role = me.data?.user?.role;
  const here = useLocation();
  useRouteFocus("main");
  // Signing in from a page comes back to it.
  const back = /^\/(signin|signup)/.test(here.pathname) ? "" : `?next=${encodeURIComponent(here.pathname + here.search)}`;
  const n = signedIn ? cartCount(cart.data?.cart) : 0;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          Shop
        </Link>
        <SearchBox />
        <nav aria-label="Main" className="main-nav">
          <Link to="/cart">{n > 0 ? `Cart (${n})` : "Cart"}</Link>
          {signedIn ? <Link to="/account">Account</Link> : <Link to={`/signin${here.pathname === "/" ? "" : back}`}>Sign in</Link>}
          {role === "staff" || role === "admin" ? <Link to="/admin">Admin</Link> : null}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="site-footer">
        <p>© Shop</p>
      </footer>
    </>
  );
}
