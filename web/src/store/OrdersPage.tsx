import { Link, Navigate } from "react-router";
import { useQuery } from "@connectrpc/connect-query";
import { OrderService } from "../gen/shop/order/v1/order_pb";
import { Loading } from "../components/Loading";
import { errorMessage } from "../api/errors";
import { formatMoney } from "../money";
import { useSignedIn } from "../auth/useSession";
import { formatTime, statusLabel } from "./orderStatus";

export default function OrdersPage() {
  const signedIn = useSignedIn();
  const orders = useQuery(OrderService.method.listOrders, { limit: 50 }, { enabled: signedIn });
  if (!signedIn) return <Navigate to="/signin?next=%2Faccount%2Forders" replace />;
  return (
    <>
      <h1>Your orders</h1>
      {orders.isLoading ? <Loading /> : null}
      {orders.error ? <p role="alert">{errorMessage(orders.error)}</p> : null}
      {orders.data && orders.data.orders.length === 0 ? (
        <p>
          No orders yet. <Link to="/">Start shopping</Link>
        </p>
      ) : null}
      {orders.data && orders.data.orders.length > 0 ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Your orders</caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col">Status</th>
                <th scope="col">Total</th>
              </tr>
            </thead>
            <tbody>
              {orders.data.orders.map((o) => (
                <tr key={o.id.toString()}>
                  <th scope="row">
                    <Link to={`/account/orders/${o.id}`}>Order {o.id.toString()}</Link>
                  </th>
                  <td>{formatTime(o.createdAt)}</td>
                  <td>{statusLabel(o.status)}</td>
                  <td>{formatMoney(o.totals?.total)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <p>
        <Link to="/account">Back to your account</Link>
      </p>
    </>
  );
}
