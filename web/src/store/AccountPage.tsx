import { useState, type FormEvent } from "react";
import { useTitle } from "../components/useTitle";
import { Link, Navigate, useNavigate } from "react-router";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { AuthService, type Address } from "../gen/shop/auth/v1/auth_pb";
import { client, session } from "../api/transport";
import { errorMessage, fieldErrors } from "../api/errors";
import { useMe, useSignedIn } from "../auth/useSession";
import { AddressFields } from "../components/AddressFields";
import { Loading } from "../components/Loading";
import { emptyAddress, validateAddress, type AddressErrors, type AddressInput } from "./checkoutValidation";
import { bookFieldErrors, fromBook, toBook } from "./addressBook";

export default function AccountPage() {
  useTitle("Your account");
  const signedIn = useSignedIn();
  const me = useMe();
  const navigate = useNavigate();
  if (!signedIn) return <Navigate to="/signin?next=%2Faccount" replace />;

  const signOut = async () => {
    try {
      await client(AuthService).logout({});
    } catch {
      // the session ends here either way
    }
    session.signOut(); // the cache is reset for the new identity (main.tsx)
    void navigate("/");
  };

  const u = me.data?.user;
  return (
    <>
      <h1>Your account</h1>
      <section aria-labelledby="profile">
        <h2 id="profile">Profile</h2>
        {me.isLoading ? <Loading /> : null}
        {me.error ? <p role="alert">{errorMessage(me.error)}</p> : null}
        {u ? (
          <dl className="profile">
            <div>
              <dt>Username</dt>
              <dd>{u.username}</dd>
            </div>
            <div>
              <dt>Name</dt>
              <dd>{[u.firstName, u.lastName].filter(Boolean).join(" ") || "—"}</dd>
            </div>
            <div>
              <dt>Email</dt>
              <dd>{u.email}</dd>
            </div>
          </dl>
        ) : null}
        <p>
          <Link to="/account/orders">Your orders</Link>
        </p>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </section>
      <AddressBook />
    </>
  );
}

function AddressBook() {
  const list = useQuery(AuthService.method.listAddresses, {});
  const del = useMutation(AuthService.method.deleteAddress);
  const [editing, setEditing] = useState<bigint | "new" | null>(null);
  const [status, setStatus] = useState("");
  const [error, setError] = useState("");

  const remove = async (a: Address) => {
    setError("");
    try {
      await del.mutateAsync({ addressId: a.id });
      setStatus("Address deleted");
      await list.refetch();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  return (
    <section aria-labelledby="book">
      <h2 id="book">Address book</h2>
      <p role="status" aria-live="polite">
        {status}
      </p>
      {error ? <p role="alert">{error}</p> : null}
      {list.isLoading ? <Loading /> : null}
      {list.error ? <p role="alert">{errorMessage(list.error)}</p> : null}
      {list.data && list.data.addresses.length === 0 ? <p className="muted">No saved addresses.</p> : null}
      <ul className="addresses">
        {list.data?.addresses.map((a) => (
          <li key={a.id.toString()}>
            {editing === a.id ? (
              <AddressEditor
                initial={fromBook(a)}
                address={a}
                onDone={(msg) => {
                  setEditing(null);
                  setStatus(msg);
                  void list.refetch();
                }}
                onCancel={() => setEditing(null)}
              />
            ) : (
              <>
                <address>
                  {a.fullName}
                  <br />
                  {a.line1}
                  {a.line2 ? `, ${a.line2}` : ""}
                  <br />
                  {a.city} {a.region} {a.postalCode} {a.country}
                </address>
                {a.isDefault ? <p className="muted">Default</p> : null}
                <button type="button" onClick={() => setEditing(a.id)} aria-label={`Edit address ${a.line1}`}>
                  Edit
                </button>{" "}
                <button type="button" onClick={() => void remove(a)} aria-label={`Delete address ${a.line1}`}>
                  Delete
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      {editing === "new" ? (
        <AddressEditor
          initial={emptyAddress}
          onDone={(msg) => {
            setEditing(null);
            setStatus(msg);
            void list.refetch();
          }}
          onCancel={() => setEditing(null)}
        />
      ) : (
        <button type="button" onClick={() => setEditing("new")}>
          Add an address
        </button>
      )}
    </section>
  );
}

function AddressEditor({
  initial,
  address,
  onDone,
  onCancel,
}: {
  initial: AddressInput;
  address?: Address;
  onDone: (msg: string) => void;
  onCancel: () => void;
}) {
  const [value, setValue] = useState(initial);
  const [errors, setErrors] = useState<AddressErrors>({});
  const [error, setError] = useState("");
  const [isDefault, setIsDefault] = useState(address?.isDefault ?? false);
  const add = useMutation(AuthService.method.addAddress);
  const update = useMutation(AuthService.method.updateAddress);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    const errs = validateAddress(value);
    setErrors(errs);
    if (Object.keys(errs).length) return;
    const body = { ...toBook(value), kind: address?.kind || "shipping", isDefault };
    try {
      if (address) await update.mutateAsync({ addressId: address.id, address: body });
      else await add.mutateAsync({ address: body });
      onDone(address ? "Address saved" : "Address added");
    } catch (err) {
      setErrors(bookFieldErrors(fieldErrors(err)));
      setError(errorMessage(err));
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate className="address-editor" aria-label={address ? "Edit address" : "New address"}>
      <AddressFields
        value={value}
        onChange={(a) => {
          setValue(a);
          if (Object.keys(errors).length) setErrors(validateAddress(a));
        }}
        errors={errors}
      />
      <label className="check">
        <input type="checkbox" checked={isDefault} onChange={(e) => setIsDefault(e.target.checked)} />
        Default address
      </label>
      {error ? <p role="alert">{error}</p> : null}
      <button type="submit" className="primary">
        Save address
      </button>{" "}
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
