import type { QueryClient } from "@tanstack/react-query";
import { identityOf, type Session } from "./session";

/**
 * Forgets every cached answer whenever the signed-in identity changes (sign
 * in, sign out, another tab, a refused refresh), so no page ever shows the
 * previous user's cart, orders or role. Pages that are on screen refetch.
 */
export function resetCacheOnIdentityChange(session: Session, qc: QueryClient): () => void {
  let last = identityOf(session.tokens);
  return session.subscribe(() => {
    const now = identityOf(session.tokens);
    if (now === last) return;
    last = now;
    qc.getMutationCache().clear();
    // reset (not clear): a view that stays mounted, even with its query
    // disabled (signed out), loses the old data too; active ones refetch.
    void qc.resetQueries();
  });
}
