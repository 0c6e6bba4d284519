import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { errorMessage, fieldErrors, fieldViolations, isUnknownOutcome } from "./errors";

function badRequest(violations: [string, string][]): Uint8Array {
  const w = new BinaryWriter();
  for (const [field, description] of violations) {
    w.tag(1, 2).fork().tag(1, 2).string(field).tag(2, 2).string(description).join();
  }
  return w.finish();
}

// As connect-web leaves a detail parsed from the wire: its type name and bytes.
function invalid(v: [string, string][]) {
  const err = new ConnectError("invalid", Code.InvalidArgument);
  err.details.push({ type: "google.rpc.BadRequest", value: badRequest(v) });
  return err;
}

describe("API errors", () => {
  it("decodes field violations from InvalidArgument details", () => {
    const err = invalid([
      ["shipping.postal_code", '"9" is not a postal code of US'],
      ["shipping.city", "is required"],
    ]);
    expect(fieldViolations(err)).toEqual([
      { field: "shipping.postal_code", description: '"9" is not a postal code of US' },
      { field: "shipping.city", description: "is required" },
    ]);
    expect(fieldErrors(err, "shipping.")).toEqual({ postal_code: '"9" is not a postal code of US', city: "is required" });
    expect(errorMessage(err)).toBe('"9" is not a postal code of US. City is required.');
  });

  it("words other errors", () => {
    expect(errorMessage(new ConnectError("no coupon", Code.FailedPrecondition))).toBe("no coupon");
    expect(errorMessage(new ConnectError("x", Code.Unavailable))).toMatch(/not reachable/);
    expect(fieldViolations(new ConnectError("x", Code.NotFound))).toEqual([]);
  });

  it("keeps an idempotency key only across unknown outcomes", () => {
    expect(isUnknownOutcome(new TypeError("Failed to fetch"))).toBe(true);
    expect(isUnknownOutcome(ConnectError.from(new TypeError("Failed to fetch")))).toBe(true);
    expect(isUnknownOutcome(new ConnectError("down", Code.Unavailable))).toBe(true);
    expect(isUnknownOutcome(new ConnectError("slow", Code.DeadlineExceeded))).toBe(true);
    expect(isUnknownOutcome(new ConnectError("only 1 left", Code.FailedPrecondition))).toBe(false);
    expect(isUnknownOutcome(new ConnectError("bad address", Code.InvalidArgument))).toBe(false);
    expect(isUnknownOutcome(new ConnectError("boom", Code.Unknown))).toBe(false);
  });
});
