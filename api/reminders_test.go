package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	cartreminderact "github.com/shopkit/shop/activities/cartreminder"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/workers/shoptest"
)

func TestCartReminderUnsubscribeLink(t *testing.T) {
	f := newServer(t, nil)
	ctx := context.Background()
	session(t, f, "una", identity.RoleCustomer)
	var user int64
	require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT id FROM users WHERE username = 'una'`).Scan(&user))
	optedOut := func(id int64) bool {
		var n int
		require.NoError(t, f.shop.Pool.QueryRow(ctx, `SELECT count(*) FROM cart_reminder_optouts WHERE user_id = $1`, id).Scan(&n))
		return n == 1
	}

	// The link of the email, as the activity writes it, works signed out
	// and twice.
	link := cartreminderact.UnsubscribeURL(f.url, shoptest.ReminderSecret, user)
	for range 2 {
		code, _, out := call(t, "GET", link, "", "")
		require.Equal(t, http.StatusOK, code, out)
		assert.Equal(t, true, out["unsubscribed"])
	}
	assert.True(t, optedOut(user))

	// Tokens not signed with the server's secret, or of another shape, are
	// refused naming the token; nobody's reminders change.
	other := user + 1
	forged := []string{
		strconv.FormatInt(other, 10), // a bare id
		cart.UnsubscribeToken("not-the-server-secret-0123456789abcdef", other), // another secret
		strconv.FormatInt(other, 10) + "." + strings.Split(cart.UnsubscribeToken(shoptest.ReminderSecret, user), ".")[1],
		"", "..", "-1.abc", "01.abc", strings.Repeat("9", 300),
	}
	for _, token := range forged {
		code, _, out := call(t, "GET", f.url+"/api/cart-reminders/unsubscribe?token="+url.QueryEscape(token), "", "")
		assert.Equal(t, http.StatusBadRequest, code, "token %q: %v", token, out)
		assert.Contains(t, fmt.Sprint(out), "token", "token %q", token)
	}
	assert.False(t, optedOut(other))
}

func TestNotifyMeOverREST(t *testing.T) {
	f := newServer(t, nil)
	ids := productIDs(t, f)
	lamp, mug := ids["LAMP-001"], ids["MUG-001"] // the lamp has no stock
	ann := session(t, f, "ann", identity.RoleCustomer)

	code, _, out := call(t, "POST", fmt.Sprintf("%s/api/products/%d/notify-me", f.url, lamp), "", `{}`)
	assert.Equal(t, http.StatusUnauthorized, code, out)

	code, _, first := call(t, "POST", fmt.Sprintf("%s/api/products/%d/notify-me", f.url, lamp), ann, `{}`)
	require.Equal(t, http.StatusOK, code, first)
	assert.NotEmpty(t, first["subscription_id"])
	code, _, again := call(t, "POST", fmt.Sprintf("%s/api/products/%d/notify-me", f.url, lamp), ann, "")
	require.Equal(t, http.StatusOK, code, again)
	assert.Equal(t, first["subscription_id"], again["subscription_id"], "idempotent")

	code, _, out = call(t, "POST", fmt.Sprintf("%s/api/products/%d/notify-me", f.url, mug), ann, `{}`)
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, fmt.Sprint(out), "in stock")
	code, _, out = call(t, "POST", f.url+"/api/products/999999999/notify-me", ann, `{}`)
	assert.Equal(t, http.StatusNotFound, code, out)
	code, _, out = call(t, "POST", fmt.Sprintf("%s/api/products/%d/notify-me", f.url, lamp), ann, `{"variant_id": 123456789}`)
	assert.Equal(t, http.StatusBadRequest, code, out)
	assert.Contains(t, fmt.Sprint(out), "variant_id")
	code, _, out = call(t, "POST", fmt.Sprintf("%s/api/products/%d/notify-me", f.url, lamp), ann, `{"variant_id": -1}`)
	assert.Equal(t, http.StatusBadRequest, code, out)

	var n int
	require.NoError(t, f.shop.Pool.QueryRow(context.Background(), `SELECT count(*) FROM back_in_stock_subscriptions`).Scan(&n))
	assert.Equal(t, 1, n)
}
