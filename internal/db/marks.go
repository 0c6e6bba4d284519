package db

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// WriteMarks remember, per user, the primary's WAL position after the
// user's last write (in Redis, shared by every API process), so that the
// user's next reads wait for a replica that has replayed it: staff see the
// product they just edited in their search at once however far the replica
// lags. A mark lives for TTL; a replica at most MaxLag behind has replayed
// every write older than that, so TTL = 2*MaxLag + 2s leaves a margin.
type WriteMarks struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

// NewWriteMarks keeps marks under prefix for ttl.
func NewWriteMarks(rdb *redis.Client, prefix string, ttl time.Duration) *WriteMarks {
	return &WriteMarks{rdb: rdb, prefix: prefix, ttl: ttl}
}

// MarkTTL is how long a write's mark must live for a replica allowed to lag maxLag.
func MarkTTL(maxLag time.Duration) time.Duration { return 2*maxLag + 2*time.Second }

// raise keeps the larger position: concurrent requests of one user may note
// theirs out of order.
var raise = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`)

func (m *WriteMarks) key(userID int64) string { return m.prefix + strconv.FormatInt(userID, 10) }

// Note records that the user's writes reach up to lsn.
func (m *WriteMarks) Note(ctx context.Context, userID int64, lsn LSN) error {
	return raise.Run(ctx, m.rdb, []string{m.key(userID)}, strconv.FormatUint(uint64(lsn), 10), m.ttl.Milliseconds()).Err()
}

// Get answers the position the user's reads must see (0: none).
func (m *WriteMarks) Get(ctx context.Context, userID int64) (LSN, error) {
	v, err := m.rdb.Get(ctx, m.key(userID)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return LSN(n), err
}
