import { describe, expect, it, vi } from "vitest";
import { refreshMarginMs, Session, type RefreshFn } from "./session";

class MemoryStorage implements Storage {
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

function setup(refresh: RefreshFn, storage = new MemoryStorage()) {
  let now = 1_000_000;
  const fn = vi.fn(refresh);
  const s = new Session(fn, storage, { now: () => now, locks: null });
  return {
    s,
    fn,
    storage,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("Session", () => {
  it("uses the access token while it is fresh and refreshes it shortly before it expires", async () => {
    const { s, fn, advance } = setup(async () => ({ accessToken: "a2", refreshToken: "r2", expiresIn: 900 }));
    s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 900 });

    expect(await s.accessToken()).toBe("a1");
    expect(fn).not.toHaveBeenCalled();

    advance(900_000 - refreshMarginMs + 1); // inside the margin
    expect(await s.accessToken()).toBe("a2");
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith("r1");
    expect(s.tokens).toMatchObject({ accessToken: "a2", refreshToken: "r2" });

    // The new token is fresh again: no further refresh.
    expect(await s.accessToken()).toBe("a2");
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("refreshes once for many concurrent callers", async () => {
    const d = deferred<{ accessToken: string; refreshToken: string; expiresIn: number }>();
    const { s, fn, advance } = setup(() => d.promise);
    s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 60 });
    advance(60_000); // expired

    const calls = Promise.all([s.accessToken(), s.accessToken(), s.accessToken(), s.refresh("r1")]);
    d.resolve({ accessToken: "a2", refreshToken: "r2", expiresIn: 900 });
    const [t1, t2, t3, t4] = await calls;

    expect(fn).toHaveBeenCalledTimes(1);
    expect([t1, t2, t3]).toEqual(["a2", "a2", "a2"]);
    expect(t4?.refreshToken).toBe("r2");
  });

  it("adopts a token another tab rotated instead of reusing the old refresh token", async () => {
    const { s, fn, storage, advance } = setup(async () => ({ accessToken: "never", refreshToken: "never", expiresIn: 900 }));
    s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 60 });
    advance(60_000);
    // Another tab (same storage) refreshed in the meantime.
    const other = new Session(async () => ({ accessToken: "a2", refreshToken: "r2", expiresIn: 900 }), storage, { now: () => 1_060_000, locks: null });
    await other.refresh("r1");
    expect(storage.getItem("shop.session")).toContain("r2");

    // This tab still believes r1 is current.
    const t = await s.refresh("r1");
    expect(fn).not.toHaveBeenCalled();
    expect(t).toMatchObject({ accessToken: "a2", refreshToken: "r2" });
    expect(await s.accessToken()).toBe("a2");
  });

  it("signs out when the API refuses the refresh token", async () => {
    const { s, advance } = setup(async () => {
      throw Object.assign(new Error("refresh token reused"), { code: 16 });
    });
    s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 60 });
    const listener = vi.fn();
    s.subscribe(listener);
    advance(60_000);

    expect(await s.accessToken()).toBeNull();
    expect(s.signedIn).toBe(false);
    expect(s.tokens).toBeNull();
    expect(listener).toHaveBeenCalled();
  });

  it("stays signed in when the refresh fails for a network error", async () => {
    const { s, advance } = setup(async () => {
      throw new TypeError("Failed to fetch");
    });
    s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 60 });
    advance(60_000);

    await expect(s.accessToken()).rejects.toThrow("Failed to fetch");
    expect(s.signedIn).toBe(true);
    expect(s.tokens?.refreshToken).toBe("r1");
  });

  it("answers null when signed out", async () => {
    const { s, fn } = setup(async () => ({ accessToken: "x", refreshToken: "y", expiresIn: 1 }));
    expect(await s.accessToken()).toBeNull();
    expect(fn).not.toHaveBeenCalled();
  });

  it("serialises two tabs' refreshes without Web Locks (localStorage lease)", async () => {
    const storage = new MemoryStorage();
    const d = deferred<{ accessToken: string; refreshToken: string; expiresIn: number }>();
    const a = setup(() => d.promise, storage);
    const b = setup(async () => ({ accessToken: "never", refreshToken: "never", expiresIn: 900 }), storage);
    a.s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 60 });
    a.advance(60_000);
    b.advance(60_000);

    const ta = a.s.accessToken();
    const tb = b.s.accessToken(); // the other tab's token expires at the same moment
    await vi.waitFor(() => expect(a.fn.mock.calls.length + b.fn.mock.calls.length).toBe(1));
    if (a.fn.mock.calls.length === 1) d.resolve({ accessToken: "a2", refreshToken: "r2", expiresIn: 900 });
    const [x, y] = await Promise.all([ta, tb]);

    // One use of r1 only: the second tab adopted the first one's rotation.
    expect(a.fn.mock.calls.length + b.fn.mock.calls.length).toBe(1);
    expect(new Set([x, y]).size).toBe(1);
    expect(storage.getItem("shop.session.refreshing")).toBeNull();
  });

  it("does not bring back a session signed out while its refresh was in flight", async () => {
    const d = deferred<{ accessToken: string; refreshToken: string; expiresIn: number }>();
    const { s, advance } = setup(() => d.promise);
    s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 60 });
    advance(60_000);
    const t = s.accessToken();
    await vi.waitFor(() => expect(s.tokens).not.toBeNull()); // the refresh has started
    s.signOut(); // e.g. in another tab
    d.resolve({ accessToken: "a2", refreshToken: "r2", expiresIn: 900 });

    expect(await t).toBeNull();
    expect(s.tokens).toBeNull();
    expect(s.signedIn).toBe(false);
  });

  it("adopts another tab's rotation when its own refresh fails", async () => {
    const storage = new MemoryStorage();
    const d = deferred<{ accessToken: string; refreshToken: string; expiresIn: number }>();
    const { s, fn, advance } = setup(() => d.promise, storage);
    s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 60 });
    advance(60_000);
    const t = s.accessToken();
    await vi.waitFor(() => expect(fn).toHaveBeenCalledTimes(1));
    // Meanwhile another tab stored a rotated pair; this tab's call is refused as a reuse.
    storage.setItem("shop.session", JSON.stringify({ accessToken: "a3", refreshToken: "r3", expiresAt: 2_000_000 }));
    d.reject(Object.assign(new Error("refresh token reused"), { code: 16 }));

    expect(await t).toBe("a3");
    expect(s.tokens?.refreshToken).toBe("r3"); // not signed out over the other tab's session
  });

  it("retries a refused call with a token rotated since, without rotating again", async () => {
    const { s, fn } = setup(async () => ({ accessToken: "a3", refreshToken: "r3", expiresIn: 900 }));
    s.signIn({ accessToken: "a1", refreshToken: "r1", expiresIn: 900 });
    // A call sent with a1 was refused; meanwhile an earlier retry rotated to a2.
    s.signIn({ accessToken: "a2", refreshToken: "r2", expiresIn: 900 });
    expect(await s.tokenForRetry("a1", "r1")).toBe("a2");
    expect(fn).not.toHaveBeenCalled();

    // The stored token itself was refused: refresh, even though it has not expired.
    expect(await s.tokenForRetry("a2", "r2")).toBe("a3");
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith("r2");
  });
});
