// Small building blocks shared by the admin pages.
import { createContext, useContext, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { currencyDigits, decimalString } from "../money";
import { errorText, fieldViolations, isPermissionDenied, parseMoneyInput } from "./lib";

export type Role = "staff" | "admin";
export const RoleContext = createContext<Role>("staff");
/** True when the signed-in user is an admin (staff see admin-only actions disabled). */
export function useIsAdmin(): boolean {
  return useContext(RoleContext) === "admin";
}

export function AdminOnlyNote({ what }: { what: string }) {
  return <p className="note">Only admins can {what}.</p>;
}

/** An API error in words; field violations listed. role="alert" so it is announced. */
export function ApiError({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null;
  const violations = fieldViolations(error);
  return (
    <div role="alert" className={isPermissionDenied(error) ? "error denied" : "error"}>
      <p>
        {prefix ? `${prefix}: ` : ""}
        {violations.length > 0 ? "Check these fields:" : errorText(error)}
      </p>
      {violations.length > 0 && (
        <ul>
          {violations.map((v) => (
            <li key={v.field + v.description}>
              <strong>{v.field}</strong>: {v.description}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function fieldViolation(error: unknown, field: string) {
  return fieldViolations(error).find((x) => x.field === field || x.field.endsWith("." + field));
}

/** The violation of one field (by proto field name), for display next to its input. */
export function FieldError({ error, field, id }: { error: unknown; field: string; id?: string }) {
  const v = fieldViolation(error, field);
  if (!v) return null;
  return (
    <span className="field-error" id={id}>
      {v.description}
    </span>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <p role="status" className="loading">
      Loading{what ? ` ${what}` : ""}…
    </p>
  );
}

/** A polite live region for "Saved" style confirmations. */
export function StatusMessage({ children }: { children: ReactNode }) {
  return (
    <p role="status" aria-live="polite" className="status-msg">
      {children}
    </p>
  );
}

/**
 * A button for a destructive action that asks first: the first click shows
 * the question with a confirm and a keep button, focus moves to it.
 */
export function ConfirmButton({
  label,
  question,
  confirmLabel,
  onConfirm,
  disabled,
  busy,
  children,
}: {
  label: string;
  question: string;
  confirmLabel: string;
  onConfirm: () => void;
  disabled?: boolean;
  busy?: boolean;
  /** Extra inputs shown with the question (a reason, an amount). */
  children?: ReactNode;
}) {
  const [asking, setAsking] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const trigger = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);
  useEffect(() => {
    if (asking) {
      asked.current = true;
      ref.current?.focus();
    } else if (asked.current) {
      // Back on the button that asked, not on the page's body.
      trigger.current?.focus();
    }
  }, [asking]);
  if (!asking) {
    return (
      <button ref={trigger} type="button" className="danger" onClick={() => setAsking(true)} disabled={disabled || busy}>
        {label}
      </button>
    );
  }
  return (
    <div
      role="group"
      aria-labelledby={titleId}
      className="confirm"
      tabIndex={-1}
      ref={ref}
      onKeyDown={(e) => {
        if (e.key === "Escape") setAsking(false);
      }}
    >
      <p id={titleId}>{question}</p>
      {children}
      <div className="row">
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => {
            onConfirm();
            setAsking(false);
          }}
        >
          {confirmLabel}
        </button>
        <button type="button" onClick={() => setAsking(false)}>
          Keep as is
        </button>
      </div>
    </div>
  );
}

/**
 * A money input: the amount as a decimal string in major units, parsed to
 * minor units without floats. value is the text; onChange gets the text.
 */
export function MoneyInput({
  label,
  value,
  onChange,
  currency,
  required,
  error,
  hint,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  currency: string;
  required?: boolean;
  error?: string;
  hint?: string;
}) {
  const id = useId();
  const parsed = value.trim() === "" && !required ? null : parseMoneyInput(value, currency);
  const problem = error ?? (parsed && !parsed.ok && value.trim() !== "" ? parsed.error : undefined);
  return (
    <div className="field">
      <label htmlFor={id}>
        {label} ({currency})
      </label>
      <input
        id={id}
        inputMode="decimal"
        autoComplete="off"
        value={value}
        required={required}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem || hint ? `${id}-msg` : undefined}
        placeholder={currencyDigits(currency) > 0 ? "0." + "0".repeat(currencyDigits(currency)) : "0"}
        onChange={(e) => onChange(e.target.value)}
      />
      {(problem || hint) && (
        <span id={`${id}-msg`} className={problem ? "field-error" : "hint"}>
          {problem ?? hint}
        </span>
      )}
    </div>
  );
}

/** Minor units to the text a MoneyInput shows. */
export function moneyText(minor: bigint | undefined, currency: string): string {
  return minor === undefined ? "" : decimalString(minor, currency);
}

/**
 * A labelled input; extra props go to the <input>. apiError/apiField show the
 * API's violation of that (proto) field next to it and mark it invalid.
 */
export function Field({
  label,
  apiError,
  apiField,
  ...props
}: { label: string; apiError?: unknown; apiField?: string } & React.InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  const v = apiField ? fieldViolation(apiError, apiField) : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={v ? true : undefined} aria-describedby={v ? `${id}-err` : undefined} {...props} />
      {v && (
        <span className="field-error" id={`${id}-err`}>
          {v.description}
        </span>
      )}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status.replaceAll("_", " ")}</span>;
}

/** Previous/next page links for skip/limit lists. */
export function Pager({ skip, limit, total, onSkip }: { skip: number; limit: number; total: number; onSkip: (s: number) => void }) {
  if (total <= limit) return null;
  return (
    <nav aria-label="Pages" className="pager">
      <button type="button" disabled={skip === 0} onClick={() => onSkip(Math.max(0, skip - limit))}>
        Previous
      </button>
      <span>
        {skip + 1}–{Math.min(skip + limit, total)} of {total}
      </span>
      <button type="button" disabled={skip + limit >= total} onClick={() => onSkip(skip + limit)}>
        Next
      </button>
    </nav>
  );
}
