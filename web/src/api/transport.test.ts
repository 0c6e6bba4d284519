import { describe, expect, it, vi } from "vitest";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { AuthService } from "../gen/shop/auth/v1/auth_pb";
import { Session } from "../auth/session";
import { authInterceptor } from "./transport";

class MemoryStorage {
  private m = new Map<string, string>();
  get length() {
    return this.m.size;
  }
  clear() {
    this.m.clear();
  }
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  key(i: number) {
    return [...this.m.keys()][i] ?? null;
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
}

function setup() {
  const refresh = vi.fn(async () => ({ accessToken: "a2", refreshToken: "r2", expiresIn: 900 }));
  const s = new Session(refresh, new MemoryStorage(), { locks: null });
  s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 900 });
  const seen: string[] = [];
  const transport = createRouterTransport(
    ({ service }) => {
      service(AuthService, {
        me: (_req, ctx) => {
          const auth = ctx.requestHeader.get("Authorization") ?? "";
          seen.push(auth);
          if (auth !== "Bearer a2") throw new ConnectError("token revoked", Code.Unauthenticated);
          return {};
        },
        login: () => {
          throw new ConnectError("wrong password", Code.Unauthenticated);
        },
      });
    },
    { transport: { interceptors: [authInterceptor(s)] } },
  );
  return { auth: createClient(AuthService, transport), refresh, seen, s };
}

describe("authInterceptor", () => {
  it("refreshes once and retries a refused call", async () => {
    const { auth, refresh, seen } = setup();
    await auth.me({});
    expect(seen).toEqual(["Bearer a1", "Bearer a2"]);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("does not rotate the session for a failed sign-in", async () => {
    const { auth, refresh, s } = setup();
    await expect(auth.login({ username: "x", password: "y" })).rejects.toThrow("wrong password");
    expect(refresh).not.toHaveBeenCalled();
    expect(s.tokens?.refreshToken).toBe("r1");
  });
});
