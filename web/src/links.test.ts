import { describe, expect, it } from "vitest";
import { safeHttpUrl } from "./links";

describe("safeHttpUrl", () => {
  it("keeps http and https links", () => {
    expect(safeHttpUrl("https://track.example/1Z?x=1")).toBe("https://track.example/1Z?x=1");
    expect(safeHttpUrl("http://track.example/")).toBe("http://track.example/");
  });
  it("refuses other schemes, relative and malformed URLs", () => {
    expect(safeHttpUrl("javascript:alert(1)")).toBeNull();
    expect(safeHttpUrl(" JavaScript:alert(1)")).toBeNull();
    expect(safeHttpUrl("data:text/html,x")).toBeNull();
    expect(safeHttpUrl("/relative")).toBeNull();
    expect(safeHttpUrl("not a url")).toBeNull();
    expect(safeHttpUrl("")).toBeNull();
    expect(safeHttpUrl(undefined)).toBeNull();
  });
});
