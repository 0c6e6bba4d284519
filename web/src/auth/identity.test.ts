import { describe, expect, it } from "vitest";
import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { Session } from "./session";
import { resetCacheOnIdentityChange } from "./identity";

/** An unsigned JWT-shaped token for subject sub. */
const jwt = (sub: string, n = 0) => `h.${btoa(JSON.stringify({ sub, n })).replace(/=+$/, "")}.s`;

function setup() {
  localStorage.clear();
  const s = new Session(async () => ({ accessToken: jwt("1", 9), refreshToken: "r9", expiresIn: 900 }), localStorage, { locks: null });
  const qc = new QueryClient();
  resetCacheOnIdentityChange(s, qc);
  return { s, qc };
}

describe("resetCacheOnIdentityChange", () => {
  it("forgets the previous user's data on sign-in, sign-out and another sign-in", () => {
    const { s, qc } = setup();
    qc.setQueryData(["cart"], "guest view");
    s.signIn({ accessToken: jwt("1"), refreshToken: "r1", expiresIn: 900 });
    expect(qc.getQueryData(["cart"])).toBeUndefined();

    qc.setQueryData(["orders"], "user 1's orders");
    s.signOut();
    expect(qc.getQueryData(["orders"])).toBeUndefined();

    qc.setQueryData(["orders"], "user 1's orders");
    s.signIn({ accessToken: jwt("1"), refreshToken: "r1", expiresIn: 900 });
    qc.setQueryData(["orders"], "user 1's orders");
    s.signIn({ accessToken: jwt("2"), refreshToken: "r2", expiresIn: 900 }); // another tab signed in as someone else
    expect(qc.getQueryData(["orders"])).toBeUndefined();
  });

  it("keeps the cache when only the tokens rotate", async () => {
    const { s, qc } = setup();
    s.signIn({ accessToken: jwt("1"), refreshToken: "r1", expiresIn: 900 });
    qc.setQueryData(["orders"], "mine");
    await s.refresh("r1", { force: true });
    expect(s.tokens?.refreshToken).toBe("r9");
    expect(qc.getQueryData(["orders"])).toBe("mine");
  });

  it("empties the data a mounted view still shows", async () => {
    const { s, qc } = setup();
    s.signIn({ accessToken: jwt("1"), refreshToken: "r1", expiresIn: 900 });
    qc.setQueryData(["me"], { role: "admin" });
    const observer = new QueryObserver(qc, { queryKey: ["me"], enabled: false, queryFn: () => ({ role: "admin" }) });
    const seen: unknown[] = [];
    const stop = observer.subscribe((r) => seen.push(r.data));
    s.signOut();
    await new Promise((res) => setTimeout(res, 0)); // observers hear of it in the next task
    expect(seen.at(-1)).toBeUndefined();
    expect(observer.getCurrentResult().data).toBeUndefined();
    stop();
  });
});
