// The signed-in session: an access token and a rotating refresh token.
//
// Both live in localStorage so that every tab shares one session. The API
// rotates the refresh token on every use and treats a reused one as theft
// (it ends the whole session), so refreshes are serialised: within a tab by
// one shared promise, across tabs by a Web Lock (or, where Web Locks are
// missing, a lease in localStorage), and a tab that finds the stored token
// already rotated by another tab adopts it instead of refreshing.

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds when the access token expires. */
  expiresAt: number;
}

export type RefreshFn = (refreshToken: string) => Promise<{ accessToken: string; refreshToken: string; expiresIn: number }>;

const storageKey = "shop.session";
const leaseKey = "shop.session.refreshing";
/** How long a tab may hold the refresh lease (a crashed tab's lease lapses). */
const leaseMs = 10_000;
/** Refresh this long before the access token expires. */
export const refreshMarginMs = 30_000;

type Listener = () => void;

export class Session {
  private inflight: Promise<Tokens | null> | null = null;
  private listeners = new Set<Listener>();
  private now: () => number;
  private locks: LockManager | undefined;
  private readonly id = Math.random().toString(36).slice(2);

  constructor(
    private refreshFn: RefreshFn,
    private storage: Storage = globalThis.localStorage,
    options: { now?: () => number; locks?: LockManager | null } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.locks = options.locks === null ? undefined : (options.locks ?? (globalThis.navigator as Navigator | undefined)?.locks);
    globalThis.addEventListener?.("storage", (e: StorageEvent) => {
      if (e.key === storageKey) this.emit();
    });
  }

  get tokens(): Tokens | null {
    const raw = this.storage.getItem(storageKey);
    if (!raw) return null;
    try {
      const t = JSON.parse(raw) as Tokens;
      return typeof t.accessToken === "string" && typeof t.refreshToken === "string" ? t : null;
    } catch {
      return null;
    }
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  signIn(t: { accessToken: string; refreshToken: string; expiresIn: number }): void {
    this.store({ accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: this.now() + t.expiresIn * 1000 });
  }

  signOut(): void {
    this.storage.removeItem(storageKey);
    this.emit();
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** An access token valid for at least refreshMarginMs, refreshing when needed; null when signed out. */
  async accessToken(): Promise<string | null> {
    return (await this.validTokens())?.accessToken ?? null;
  }

  /** The pair whose access token is valid for at least refreshMarginMs (see accessToken). */
  async validTokens(): Promise<Tokens | null> {
    const t = this.tokens;
    if (!t) return null;
    if (t.expiresAt - this.now() > refreshMarginMs) return t;
    return this.refresh(t.refreshToken);
  }

  /**
   * Exchanges the refresh token for a new pair. stale is the refresh token the
   * caller saw: when the stored one differs, someone else already rotated it
   * and that pair is adopted (force: even when it is about to expire, for a
   * caller whose access token was refused). Resolves null (and signs out) when
   * the API refuses the token.
   */
  refresh(stale: string, options: { force?: boolean } = {}): Promise<Tokens | null> {
    if (!this.inflight) {
      this.inflight = this.withLock(() => this.doRefresh(stale, options.force ?? false)).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  /**
   * The access token to retry with after the API refused usedAccess (sent
   * with usedRefresh current): the stored one when a rotation happened since
   * (another request or tab), otherwise a refresh; null when signed out.
   */
  async tokenForRetry(usedAccess: string, usedRefresh: string): Promise<string | null> {
    const now = this.tokens;
    if (!now) return null;
    if (now.accessToken !== usedAccess) return now.accessToken;
    return (await this.refresh(usedRefresh, { force: true }))?.accessToken ?? null;
  }

  private async doRefresh(stale: string, force: boolean): Promise<Tokens | null> {
    const current = this.tokens;
    if (!current) return null;
    if (current.refreshToken !== stale && (force || current.expiresAt - this.now() > refreshMarginMs)) {
      return current; // another tab (or an earlier call) rotated it already
    }
    const sent = current.refreshToken;
    // Only the pair that was sent may be replaced: after a sign-out (or another
    // tab's sign-in or rotation) during the call, the answer is dropped.
    const stillOurs = () => this.tokens?.refreshToken === sent;
    try {
      const r = await this.refreshFn(sent);
      if (!stillOurs()) return this.tokens;
      const next = { accessToken: r.accessToken, refreshToken: r.refreshToken, expiresAt: this.now() + r.expiresIn * 1000 };
      this.store(next);
      return next;
    } catch (err) {
      if (!stillOurs()) return this.tokens;
      if (isAuthRefusal(err)) {
        this.signOut();
        return null;
      }
      throw err;
    }
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    if (this.locks) return this.locks.request("shop.session.refresh", fn) as Promise<T>;
    return this.withLease(fn);
  }

  /**
   * A cross-tab lock from localStorage for browsers without Web Locks (plain
   * http on a LAN name, older browsers): claim the lease, wait a moment, and
   * hold it only if no other tab overwrote the claim meanwhile.
   */
  private async withLease<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + leaseMs;
    for (;;) {
      const lease = this.readLease();
      if (!lease || lease.until < Date.now() || Date.now() > deadline) {
        this.storage.setItem(leaseKey, JSON.stringify({ owner: this.id, until: Date.now() + leaseMs }));
        await sleep(20 + Math.random() * 30);
        if (this.readLease()?.owner === this.id) break;
      } else {
        await sleep(50 + Math.random() * 50);
      }
    }
    try {
      return await fn();
    } finally {
      if (this.readLease()?.owner === this.id) this.storage.removeItem(leaseKey);
    }
  }

  private readLease(): { owner: string; until: number } | null {
    try {
      const v = JSON.parse(this.storage.getItem(leaseKey) ?? "null") as { owner?: unknown; until?: unknown } | null;
      return v && typeof v.owner === "string" && typeof v.until === "number" ? { owner: v.owner, until: v.until } : null;
    } catch {
      return null;
    }
  }

  private store(t: Tokens): void {
    this.storage.setItem(storageKey, JSON.stringify(t));
    this.emit();
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

/** The refresh endpoint refused the token (as opposed to a network failure). */
function isAuthRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  // Connect codes: 16 unauthenticated, 7 permission denied, 3 invalid argument.
  return code === 16 || code === 7 || code === 3;
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Who the session belongs to: the access token's subject, "" when signed out. */
export function identityOf(t: Tokens | null): string {
  if (!t) return "";
  try {
    const part = t.accessToken.split(".")[1] ?? "";
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    if (typeof sub === "string" || typeof sub === "number") return `user:${sub}`;
  } catch {
    // not a JWT: fall through
  }
  return "signed-in";
}
