import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** A field the API refused, as in google.rpc.BadRequest.FieldViolation. */
export interface FieldViolation {
  field: string;
  description: string;
}

// google.rpc.BadRequest { repeated FieldViolation field_violations = 1; }
// FieldViolation { string field = 1; string description = 2; }. Decoded by
// hand so the app needs no generated code for google.rpc.
function decodeBadRequest(bytes: Uint8Array): FieldViolation[] {
  const out: FieldViolation[] = [];
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no !== 1 || wt !== WireType.LengthDelimited) {
      r.skip(wt);
      continue;
    }
    const inner = new BinaryReader(r.bytes());
    const v: FieldViolation = { field: "", description: "" };
    while (inner.pos < inner.len) {
      const [f, w] = inner.tag();
      if (f === 1 && w === WireType.LengthDelimited) v.field = inner.string();
      else if (f === 2 && w === WireType.LengthDelimited) v.description = inner.string();
      else inner.skip(w);
    }
    out.push(v);
  }
  return out;
}

/** The field violations of an InvalidArgument error (empty for anything else). */
export function fieldViolations(err: unknown): FieldViolation[] {
  if (!(err instanceof ConnectError) || err.code !== Code.InvalidArgument) return [];
  const out: FieldViolation[] = [];
  for (const d of err.details) {
    if ("type" in d && d.type === "google.rpc.BadRequest") {
      try {
        out.push(...decodeBadRequest(d.value));
      } catch {
        // a malformed detail: the message alone is shown
      }
    }
  }
  return out;
}

/** Field violations keyed by field name, with an optional prefix removed ("shipping."). */
export function fieldErrors(err: unknown, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of fieldViolations(err)) {
    const f = prefix && v.field.startsWith(prefix) ? v.field.slice(prefix.length) : v.field;
    out[f] ??= v.description;
  }
  return out;
}

/** "shipping.postal_code" + "is required" -> "Postal code is required." */
export function describeViolation(v: FieldViolation): string {
  const last = v.field.split(".").pop() ?? "";
  const name = last.replace(/\[\d+\]$/, "").replace(/_/g, " ");
  const text = /^(is|are|must|should|has|was) /.test(v.description) && name ? `${name.charAt(0).toUpperCase()}${name.slice(1)} ${v.description}` : v.description;
  const s = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(s) ? s : s + ".";
}

/**
 * An error in words for the user; staff: the admin's wording, which names
 * the role and the API's reason. The one wording module of store and admin.
 */
export function errorMessage(err: unknown, options: { staff?: boolean } = {}): string {
  if (err instanceof ConnectError) {
    const v = fieldViolations(err);
    if (v.length > 0) return v.map(describeViolation).join(" ");
    const staff = options.staff ?? false;
    switch (err.code) {
      case Code.Unauthenticated:
        return staff ? "Your session has ended. Sign in again." : "Please sign in again.";
      case Code.PermissionDenied:
        return staff ? `Permission denied: your role may not do this (${err.rawMessage || "admins only"}).` : "You are not allowed to do that.";
      case Code.NotFound:
        if (staff) return `Not found: ${err.rawMessage}`;
        break;
      case Code.Unavailable:
        return "The shop is not reachable right now; please try again.";
      case Code.ResourceExhausted:
        return "Too many requests; please wait a moment and try again.";
    }
    return err.rawMessage || "Something went wrong.";
  }
  if (err instanceof Error) return err.message;
  return "Something went wrong.";
}

/**
 * Whether a call may or may not have taken effect (the network failed, the
 * API was unavailable or timed out): a retry must send the same
 * idempotency key. Any other error is a definite answer.
 */
export function isUnknownOutcome(err: unknown): boolean {
  if (!(err instanceof ConnectError)) return err instanceof TypeError; // fetch's network failure
  switch (err.code) {
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.Aborted:
      return true;
    case Code.Unknown:
      return err.cause instanceof TypeError; // connect wraps fetch's network failure
  }
  return false;
}
