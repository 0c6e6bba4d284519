// The signed-in session: an access token and a rotating refresh token.
//
// Both live in localStorage so that every tab shares one session. The API
// rotates the refresh token on every use and treats a reused one as theft
// (it ends the whole session), so refreshes are serialised: within a tab by
// one shared promise, across tabs by a Web Lock, and a tab that finds the
// stored token already rotated by another tab adopts it instead of refreshing.

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds when the access token expires. */
  expiresAt: number;
}

export type RefreshFn = (refreshToken: string) => Promise<{ accessToken: string; refreshToken: string; expiresIn: number }>;

const storageKey = "shop.session";
/** Refresh this long before the access token expires. */
export const refreshMarginMs = 30_000;

type Listener = () => void;

export class Session {
  private inflight: Promise<Tokens | null> | null = null;
  private listeners = new Set<Listener>();
  private now: () => number;

  constructor(
    private refreshFn: RefreshFn,
    private storage: Storage = globalThis.localStorage,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
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
    const t = this.tokens;
    if (!t) return null;
    if (t.expiresAt - this.now() > refreshMarginMs) return t.accessToken;
    return (await this.refresh(t.refreshToken))?.accessToken ?? null;
  }

  /**
   * Exchanges the refresh token for a new pair. stale is the refresh token the
   * caller saw: when the stored one differs, someone else already rotated it.
   * Resolves null (and signs out) when the API refuses the token.
   */
  refresh(stale: string): Promise<Tokens | null> {
    if (!this.inflight) {
      this.inflight = withLock(() => this.doRefresh(stale)).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async doRefresh(stale: string): Promise<Tokens | null> {
    const current = this.tokens;
    if (!current) return null;
    if (current.refreshToken !== stale && current.expiresAt - this.now() > refreshMarginMs) {
      return current; // another tab (or an earlier call) rotated it already
    }
    try {
      const r = await this.refreshFn(current.refreshToken);
      const next = { accessToken: r.accessToken, refreshToken: r.refreshToken, expiresAt: this.now() + r.expiresIn * 1000 };
      this.store(next);
      return next;
    } catch (err) {
      if (isAuthRefusal(err)) {
        this.signOut();
        return null;
      }
      throw err;
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

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return fn();
  return locks.request("shop.session.refresh", fn) as Promise<T>;
}
