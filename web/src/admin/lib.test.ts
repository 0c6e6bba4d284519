import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorText, parseAttributes, parseMinorUnits, parseMoneyInput, shipmentActions, temporalWorkflowUrl, fieldViolations } from "./lib";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { StructSchema } from "@bufbuild/protobuf/wkt";

describe("parseMinorUnits", () => {
  it.each([
    ["12", 2, 1200n],
    ["12.5", 2, 1250n],
    ["12.50", 2, 1250n],
    ["0.29", 2, 29n],
    [".5", 2, 50n],
    ["7.", 2, 700n],
    [" 1999.99 ", 2, 199999n],
    ["1234", 0, 1234n],
    ["1.234", 3, 1234n],
    ["92233720368547.75", 2, 9223372036854775n],
  ])("%s with %i decimals is %s", (input, digits, want) => {
    expect(parseMinorUnits(input, digits)).toEqual({ ok: true, value: want });
  });

  it("is exact where floats are not", () => {
    // 1.15 * 100 is 114.99999999999999 in floating point.
    expect(parseMinorUnits("1.15", 2)).toEqual({ ok: true, value: 115n });
    expect(parseMinorUnits("0.07", 2)).toEqual({ ok: true, value: 7n });
  });

  it.each(["", "  ", "abc", "-1", "+1", "1e3", "1,000", "1.2.3", ".", "12.345", "NaN", "Infinity", "0x10", "1 000", "99999999999999999"])(
    "refuses %j",
    (input) => {
      expect(parseMinorUnits(input, 2).ok).toBe(false);
    },
  );

  it("refuses decimals for a currency without them", () => {
    expect(parseMinorUnits("5.5", 0)).toEqual({ ok: false, error: "This currency has no decimals" });
  });

  it("uses the currency's decimals", () => {
    expect(parseMoneyInput("500", "JPY")).toEqual({ ok: true, value: 500n });
    expect(parseMoneyInput("5.5", "JPY").ok).toBe(false);
    expect(parseMoneyInput("5.5", "EUR")).toEqual({ ok: true, value: 550n });
    expect(parseMoneyInput("5", "usd").ok).toBe(false);
  });
});

describe("temporalWorkflowUrl", () => {
  it("builds the workflow page URL", () => {
    expect(temporalWorkflowUrl("http://localhost:8233", "shop", "checkout-42")).toBe("http://localhost:8233/namespaces/shop/workflows/checkout-42");
  });
  it("drops a trailing slash and encodes the parts", () => {
    expect(temporalWorkflowUrl("https://t.example/ui/", "shop test", "a/b c")).toBe("https://t.example/ui/namespaces/shop%20test/workflows/a%2Fb%20c");
  });
  it("is empty without a UI or a workflow", () => {
    expect(temporalWorkflowUrl("", "shop", "checkout-1")).toBe("");
    expect(temporalWorkflowUrl("http://t", "shop", "")).toBe("");
    expect(temporalWorkflowUrl("http://t", "", "w")).toBe("http://t/namespaces/default/workflows/w");
  });
});

describe("fieldViolations", () => {
  it("reads a google.rpc.BadRequest detail", () => {
    const w = new BinaryWriter();
    for (const [f, d] of [
      ["name", "must not be empty"],
      ["code", "too long"],
    ] as const) {
      w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(f).tag(2, WireType.LengthDelimited).string(d).join();
    }
    const err = new ConnectError("bad", Code.InvalidArgument);
    err.details.push({ type: "google.rpc.BadRequest", value: w.finish() });
    expect(fieldViolations(err)).toEqual([
      { field: "name", description: "must not be empty" },
      { field: "code", description: "too long" },
    ]);
  });
  it("ignores other errors and details", () => {
    const other = { type: "google.protobuf.Struct", value: toBinary(StructSchema, create(StructSchema, {})) };
    const err = new ConnectError("x", Code.InvalidArgument);
    err.details.push(other);
    expect(fieldViolations(err)).toEqual([]);
    expect(fieldViolations(new ConnectError("x", Code.PermissionDenied))).toEqual([]);
  });
});

describe("parseAttributes", () => {
  it("parses name=value pairs", () => {
    expect(parseAttributes("Size=M, Colour = Red,")).toEqual({ ok: true, value: { Size: "M", Colour: "Red" } });
  });
  it("refuses a pair without a name", () => {
    expect(parseAttributes("=M").ok).toBe(false);
    expect(parseAttributes("Size").ok).toBe(false);
  });
});

describe("shipmentActions", () => {
  it("follows the shipment's steps", () => {
    expect(shipmentActions("pending")).toMatchObject({ pick: true, pack: false, ship: false, deliver: false });
    expect(shipmentActions("picked")).toMatchObject({ pick: false, pack: true, ship: false });
    expect(shipmentActions("packed")).toMatchObject({ pack: false, ship: true, deliver: false });
    expect(shipmentActions("in_transit")).toMatchObject({ ship: false, deliver: true });
    expect(shipmentActions("delivered")).toMatchObject({ deliver: false, problem: false });
    expect(shipmentActions("lost")).toMatchObject({ resolveLost: true });
  });
});

describe("errorText", () => {
  it("says plainly when the role may not do something", () => {
    expect(errorText(new ConnectError("admin role required", Code.PermissionDenied))).toBe(
      "Permission denied: your role may not do this (admin role required).",
    );
  });
  it("keeps the API's message otherwise", () => {
    expect(errorText(new ConnectError("the order is shipped", Code.FailedPrecondition))).toBe("the order is shipped");
  });
});
