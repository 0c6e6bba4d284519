package api

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	"github.com/shopkit/shop/internal/db"
)

// readRouting lets the read-only RPCs (NO_SIDE_EFFECTS in the .proto)
// read from the replica, and keeps read-your-writes for signed-in callers:
// after any other RPC of theirs it notes the primary's WAL position, and
// their reads go to the replica only once it has replayed that position.
// Stores decide which of their reads may use the replica (db.Reader); a
// context this interceptor did not mark reads from the primary.
func readRouting(reads *db.Pools, marks *db.WriteMarks, log *slog.Logger) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		if reads == nil || !reads.HasReplica() {
			return next
		}
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			p, signedIn := principalFrom(ctx)
			if req.Spec().IdempotencyLevel == connect.IdempotencyNoSideEffects {
				var min db.LSN
				if signedIn && marks != nil {
					lsn, err := marks.Get(ctx, p.UserID)
					if err != nil {
						// Unknown: the primary surely has the caller's writes.
						log.WarnContext(ctx, "read-your-writes mark unreadable; reading from the primary", "error", err)
						return next(ctx, req)
					}
					min = lsn
				}
				return next(db.ReplicaOK(ctx, min), req)
			}
			res, err := next(ctx, req)
			// Also after an error: a step may have committed before it.
			if signedIn && marks != nil {
				noteWrite(ctx, reads, marks, p.UserID, log)
			}
			return res, err
		}
	}
}

// noteWrite records the caller's write position, even when the caller has
// gone (its next request must still see the write).
func noteWrite(ctx context.Context, reads *db.Pools, marks *db.WriteMarks, userID int64, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	lsn, err := reads.WriteLSN(ctx)
	if err == nil {
		err = marks.Note(ctx, userID, lsn)
	}
	if err != nil {
		// The next reads may then be up to DATABASE_READ_MAX_LAG stale.
		log.WarnContext(ctx, "read-your-writes mark not recorded", "error", err)
	}
}
