import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { AuthService, type User } from "../gen/shop/auth/v1/auth_pb";
import { useMe } from "../auth/useSession";
import { formatTime } from "./lib";
import { AdminOnlyNote, ApiError, ConfirmButton, Loading, Pager, StatusMessage, useIsAdmin } from "./ui";

const limit = 50;
const roles = ["customer", "staff", "admin"];

function RoleCell({ user }: { user: User }) {
  const isAdmin = useIsAdmin();
  const me = useMe();
  const qc = useQueryClient();
  const [role, setRole] = useState(user.role);
  const m = useMutation(AuthService.method.setUserRole, { onSuccess: () => void qc.invalidateQueries() });
  const self = me.data?.user?.id === user.id;
  const id = `role-${user.id}`;
  return (
    <td>
      <label className="sr-only" htmlFor={id}>
        Role of {user.username}
      </label>
      <select id={id} value={role} disabled={!isAdmin} onChange={(e) => setRole(e.target.value)}>
        {roles.map((r) => (
          <option key={r}>{r}</option>
        ))}
      </select>{" "}
      {isAdmin && role !== user.role && (
        <ConfirmButton
          label={`Change role of ${user.username}`}
          question={`Make ${user.username} ${role}? Their sessions end and they sign in again.${self ? " This is your own account." : ""}`}
          confirmLabel={`Yes, make ${role}`}
          busy={m.isPending}
          onConfirm={() => m.mutate({ userId: user.id, role })}
        />
      )}
      <ApiError error={m.error} />
      {m.isSuccess && <StatusMessage>Role saved</StatusMessage>}
    </td>
  );
}

export default function Users() {
  const isAdmin = useIsAdmin();
  const [params, setParams] = useSearchParams();
  const skip = Math.max(0, Number(params.get("skip") ?? 0) || 0);
  const list = useQuery(AuthService.method.listUsers, { skip, limit });
  return (
    <>
      <h1>Users</h1>
      {!isAdmin && <AdminOnlyNote what="change roles" />}
      <ApiError error={list.error} />
      {list.isPending && <Loading what="users" />}
      {list.data && (
        <>
          <div className="table-wrap" tabIndex={0}>
            <table>
              <caption>Accounts ({list.data.total})</caption>
              <thead>
                <tr>
                  <th scope="col">Id</th>
                  <th scope="col">Username</th>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Joined</th>
                  <th scope="col">Role</th>
                  <th scope="col">Orders</th>
                </tr>
              </thead>
              <tbody>
                {list.data.users.map((u) => (
                  <tr key={`${u.id}-${u.role}`}>
                    <td>{String(u.id)}</td>
                    <th scope="row">{u.username}</th>
                    <td>
                      {u.firstName} {u.lastName}
                    </td>
                    <td>{u.email}</td>
                    <td>{formatTime(u.createdAt)}</td>
                    <RoleCell user={u} />
                    <td>
                      <Link to={`/admin/orders?customer=${u.id}`}>Orders of {u.username}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager skip={skip} limit={limit} total={list.data.total} onSkip={(s) => setParams({ skip: String(s) })} />
        </>
      )}
    </>
  );
}
