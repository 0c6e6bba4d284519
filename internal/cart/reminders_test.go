package cart_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/validation"
)

// cartEvents counts the cart changes of userID recorded in the outbox.
func cartEvents(t *testing.T, e *env, userID int64) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(e.ctx, `SELECT count(*) FROM outbox_events WHERE topic = 'cart.changed' AND entity_id = $1`,
		userID).Scan(&n))
	return n
}

// Every committed change of a cart, and only those, is recorded in the
// outbox in its own transaction (the reminders hear it from there).
func TestEveryCommittedChangeIsRecordedInTheOutbox(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")

	id, err := e.s.Add(e.ctx, ann, e.cfg, e.widget.ID, 0, 1)
	require.NoError(t, err)
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.mug.ID, 0, 1)
	require.NoError(t, err)
	require.NoError(t, e.s.Update(e.ctx, ann, e.cfg, id, 2))
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Method: "express"}))
	require.NoError(t, e.s.ClearCoupon(e.ctx, ann))
	assert.Equal(t, 5, cartEvents(t, e, ann))
	// Refused changes record nothing.
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.widget.ID, 0, 0)
	require.Error(t, err)
	require.Error(t, e.s.Remove(e.ctx, ann, id+1000))
	assert.Equal(t, 5, cartEvents(t, e, ann))
	require.NoError(t, e.s.Remove(e.ctx, ann, id))
	require.NoError(t, e.s.Clear(e.ctx, e.pool, ann)) // checkout's, in its transaction
	assert.Equal(t, 7, cartEvents(t, e, ann))
	var version int64
	require.NoError(t, e.pool.QueryRow(e.ctx, `SELECT version FROM carts WHERE user_id = $1`, ann).Scan(&version))
	assert.Equal(t, int64(7), version)

	// A shopper without a cart changes nothing by clearing a coupon.
	bob := e.user(t, "bob")
	require.NoError(t, e.s.ClearCoupon(e.ctx, bob))
	assert.Zero(t, cartEvents(t, e, bob))
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
