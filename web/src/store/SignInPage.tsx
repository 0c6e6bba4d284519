import { useState, type FormEvent } from "react";
import { useTitle } from "../components/useTitle";
import { Link, useNavigate, useSearchParams } from "react-router";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";
import { client, session } from "../api/transport";
import { errorMessage, fieldErrors } from "../api/errors";
import { Field, ErrorAlert } from "../components/Field";
import { safeNext } from "../auth/next";
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { flushPending } from "./pendingCart";

/**
 * Signs in with the API's answer and adds what a guest put in the cart
 * (failures are told on the cart page). Signing in already refetched the
 * cart, before those items were in it: it is fetched again once they are.
 */
export async function completeSignIn(tokens: { accessToken: string; refreshToken: string; expiresIn: number }, qc: QueryClient) {
  session.signIn(tokens);
  const { added } = await flushPending();
  if (added > 0) await qc.invalidateQueries();
}

export default function SignInPage() {
  useTitle("Sign in");
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    setBusy(true);
    setError("");
    setFields({});
    try {
      const r = await client(AuthService).login({ username: String(fd.get("username") ?? "").trim(), password: String(fd.get("password") ?? "") });
      await completeSignIn(r, qc);
      void navigate(next, { replace: true });
    } catch (err) {
      setFields(fieldErrors(err));
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <h1>Sign in</h1>
      {params.get("reason") === "cart" ? <p role="status">Sign in or create an account to add this to your cart; it is kept until you do.</p> : null}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field label="Username" name="username" autoComplete="username" required error={fields["username"]} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required error={fields["password"]} />
        <ErrorAlert error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      <p>
        New here? <Link to={`/signup?next=${encodeURIComponent(next)}`}>Create an account</Link>
      </p>
    </section>
  );
}
