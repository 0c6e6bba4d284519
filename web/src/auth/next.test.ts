import { describe, expect, it } from "vitest";
import { safeNext } from "./next";

describe("safeNext", () => {
  it("keeps a path of this site", () => {
    expect(safeNext("/account/orders/4?x=1")).toBe("/account/orders/4?x=1");
  });
  it("refuses anything that could leave the site", () => {
    for (const bad of [null, "", "https://evil.example", "//evil.example", "/\\evil.example", "/\tevil.example", "x"]) {
      expect(safeNext(bad)).toBe("/");
    }
  });
});
