import { Link, Outlet } from "react-router";

export function StoreLayout() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <Link to="/" className="brand">
          Shop
        </Link>
        <nav aria-label="Main">
          <Link to="/search">Search</Link> <Link to="/cart">Cart</Link> <Link to="/account">Account</Link>
        </nav>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </>
  );
}
