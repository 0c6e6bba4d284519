package cart_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/validation"
)

type heard struct {
	mu      sync.Mutex
	changes []cart.Change
}

func (h *heard) CartChanged(_ context.Context, c cart.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, c)
}

func TestEveryCommittedChangeIsHeardWithAGrowingVersion(t *testing.T) {
	e := setup(t)
	h := &heard{}
	e.s.SetNotifier(h)
	ann := e.user(t, "ann")

	id, err := e.s.Add(e.ctx, ann, e.cfg, e.widget.ID, 0, 1)
	require.NoError(t, err)
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.mug.ID, 0, 1)
	require.NoError(t, err)
	require.NoError(t, e.s.Update(e.ctx, ann, e.cfg, id, 2))
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Method: "express"}))
	require.NoError(t, e.s.ClearCoupon(e.ctx, ann))
	// Refused changes are not heard.
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.widget.ID, 0, 0)
	require.Error(t, err)
	require.Error(t, e.s.Remove(e.ctx, ann, id+1000))
	require.NoError(t, e.s.Remove(e.ctx, ann, id))
	require.NoError(t, e.s.Clear(e.ctx, e.pool, ann)) // checkout's, in its transaction
	require.NoError(t, e.s.Notify(e.ctx, ann))

	assert.Equal(t, []cart.Change{
		{UserID: ann, Version: 1, Items: 1}, {UserID: ann, Version: 2, Items: 2}, {UserID: ann, Version: 3, Items: 2},
		{UserID: ann, Version: 4, Items: 2}, {UserID: ann, Version: 5, Items: 2}, {UserID: ann, Version: 6, Items: 1},
		{UserID: ann, Version: 7, Items: 0},
	}, h.changes)

	// A shopper without a cart changes nothing by clearing a coupon.
	bob := e.user(t, "bob")
	require.NoError(t, e.s.ClearCoupon(e.ctx, bob))
	require.NoError(t, e.s.Notify(e.ctx, bob))
	assert.Len(t, h.changes, 7)
}

func TestUnsubscribeTokens(t *testing.T) {
	const secret = "a-secret-of-at-least-thirty-two-characters"
	token := cart.UnsubscribeToken(secret, 42)
	assert.True(t, strings.HasPrefix(token, "42."))
	id, err := cart.ParseUnsubscribeToken(secret, token)
	require.NoError(t, err)
	assert.Equal(t, int64(42), id)

	mac := strings.TrimPrefix(token, "42.")
	for _, bad := range []string{"42", "43." + mac, "042." + mac, "42." + mac + "x", cart.UnsubscribeToken("another-secret-of-thirty-two-chars!", 42), "", "."} {
		_, err := cart.ParseUnsubscribeToken(secret, bad)
		var ve *validation.Error
		require.ErrorAs(t, err, &ve, bad)
		assert.Equal(t, "token", ve.Field)
	}
}

func TestReminderReadsTheCartAndTheOptOut(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	r, err := e.s.ReminderFor(e.ctx, ann)
	require.NoError(t, err)
	assert.Empty(t, r.Items)
	assert.False(t, r.OptedOut)

	_, err = e.s.Add(e.ctx, ann, e.cfg, e.widget.ID, 0, 3)
	require.NoError(t, err)
	require.NoError(t, e.s.OptOutOfReminders(e.ctx, ann))
	require.NoError(t, e.s.OptOutOfReminders(e.ctx, ann), "twice is fine")
	r, err = e.s.ReminderFor(e.ctx, ann)
	require.NoError(t, err)
	assert.True(t, r.OptedOut)
	require.Len(t, r.Items, 1)
	assert.Equal(t, int32(3), r.Items[0].Quantity)
	assert.Contains(t, r.Email, "@")

	_, err = e.s.ReminderFor(e.ctx, 1<<40)
	require.ErrorIs(t, err, cart.ErrNoShopper)
	require.NoError(t, e.s.OptOutOfReminders(e.ctx, 1<<40), "a user gone needs nothing")
}
