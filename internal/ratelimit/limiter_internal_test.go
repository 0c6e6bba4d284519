package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/testenv"
)

// The lease map never grows past leaseKeys: a new key that finds it full of
// live leases is limited without a lease, and a full map is scanned for
// expired leases at most once per lease period.
func TestLeaseMapIsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLimiter(testenv.Redis(t), testenv.UniqueName("rltest:"))
	limit := Limit{Rate: 1000, Period: time.Second} // a lease-taking limit
	live := time.Now().Add(time.Hour)
	for i := range leaseKeys {
		ls := newLease()
		ls.expires = live
		l.leases["filler"+strconv.Itoa(i)] = ls
	}

	for i := range 3 {
		res, err := l.Allow(ctx, "new-key", limit)
		require.NoError(t, err)
		assert.True(t, res.Allowed, "call %d", i)
	}
	assert.Len(t, l.leases, leaseKeys, "no lease for a key past the bound")

	// Once the fillers expire, the next scan (not before a lease period after
	// the last one) makes room.
	for _, ls := range l.leases {
		ls.expires = time.Now().Add(-time.Second)
	}
	l.prunedAt = time.Now()
	_, err := l.Allow(ctx, "other-key", limit)
	require.NoError(t, err)
	assert.Len(t, l.leases, leaseKeys, "no second scan within a lease period")

	l.prunedAt = time.Now().Add(-leasePeriod)
	res, err := l.Allow(ctx, "other-key", limit)
	require.NoError(t, err)
	assert.True(t, res.Allowed)
	assert.Len(t, l.leases, 1, "expired leases pruned, the new key leased")
}
