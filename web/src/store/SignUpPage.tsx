import { useRef, useState, type FormEvent } from "react";
import { useTitle } from "../components/useTitle";
import { Link, useNavigate, useSearchParams } from "react-router";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";
import { client } from "../api/transport";
import { errorMessage, fieldErrors } from "../api/errors";
import { Field, ErrorAlert } from "../components/Field";
import { safeNext } from "../auth/next";
import { useQueryClient } from "@tanstack/react-query";
import { completeSignIn } from "./SignInPage";

export default function SignUpPage() {
  useTitle("Create an account");
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});
  const registered = useRef("");

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const v = (k: string) => String(fd.get(k) ?? "").trim();
    setBusy(true);
    setError("");
    setFields({});
    const username = v("username");
    const password = String(fd.get("password") ?? "");
    try {
      const auth = client(AuthService);
      // After an account was created but signing in failed (network), a
      // resubmit only signs in: registering again would answer "taken".
      if (registered.current !== username) {
        await auth.register({ username, email: v("email"), password, firstName: v("first_name"), lastName: v("last_name") });
        registered.current = username;
      }
      const r = await auth.login({ username, password });
      await completeSignIn(r, qc);
      void navigate(next, { replace: true });
    } catch (err) {
      setFields(fieldErrors(err));
      setError(
        registered.current === username
          ? `Your account was created, but signing in failed: ${errorMessage(err)} Press “Create account” again to sign in, or sign in with your username and password.`
          : errorMessage(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <h1>Create an account</h1>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field label="Username" name="username" autoComplete="username" required error={fields["username"]} />
        <Field label="Email" name="email" type="email" autoComplete="email" required error={fields["email"]} />
        <Field label="Password" name="password" type="password" autoComplete="new-password" required error={fields["password"]} />
        <Field label="First name" name="first_name" autoComplete="given-name" error={fields["first_name"]} />
        <Field label="Last name" name="last_name" autoComplete="family-name" error={fields["last_name"]} />
        <ErrorAlert error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Create account
        </button>
      </form>
      <p>
        Already have an account? <Link to={`/signin?next=${encodeURIComponent(next)}`}>Sign in</Link>
      </p>
    </section>
  );
}
