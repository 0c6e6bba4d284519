package cartreminder

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/money"
)

const secret = "cart-reminder-activity-test-secret-0123"

func TestPrepareReminderReReadsTheCartAndTheOptOut(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	carts := cart.NewStore(pool, coupons.NewStore(pool))
	a := &Activities{Carts: carts, ShopURL: "https://shop.example/", Secret: secret}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	prepare := func(userID int64) Prepared {
		t.Helper()
		v, err := env.ExecuteActivity(a.PrepareReminder, Request{UserID: userID, Key: "cart-1-reminder-1-1"})
		require.NoError(t, err)
		var p Prepared
		require.NoError(t, v.Get(&p))
		return p
	}

	var user, product int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO users (username, email, password_hash, first_name)
		VALUES ('ada', 'ada@example.com', 'x', 'Ada') RETURNING id`).Scan(&user))
	_, err := catalog.NewStore(pool).UpsertProducts(ctx, []catalog.ProductInput{{SKU: "MUG-1", Name: "Mug", Category: "Kitchen",
		Price: money.Money{Amount: 1500, Currency: "USD"}, StockQuantity: 5}})
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM products WHERE sku = 'MUG-1'`).Scan(&product))

	assert.Equal(t, Prepared{Skip: SkipEmpty}, prepare(user), "nothing in the cart")
	assert.Equal(t, Prepared{Skip: SkipNoShopper}, prepare(user+1000))

	_, err = carts.Add(ctx, user, cart.Config{}, product, 0, 2)
	require.NoError(t, err)
	p := prepare(user)
	require.Empty(t, p.Skip)
	assert.Equal(t, "cart-1-reminder-1-1", p.Email.Key)
	assert.Equal(t, mail.KindCartReminder, p.Email.Kind)
	assert.Equal(t, "ada@example.com", p.Email.To)
	assert.Equal(t, "https://shop.example/cart", p.Email.Data.Link)
	require.Len(t, p.Email.Data.Lines, 1)
	assert.Equal(t, int32(2), p.Email.Data.Lines[0].Quantity)
	u, err := url.Parse(p.Email.Data.UnsubscribeURL)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(p.Email.Data.UnsubscribeURL, "https://shop.example/api/cart-reminders/unsubscribe?token="))
	id, err := cart.ParseUnsubscribeToken(secret, u.Query().Get("token"))
	require.NoError(t, err)
	assert.Equal(t, user, id)

	require.NoError(t, carts.OptOutOfReminders(ctx, user))
	assert.Equal(t, Prepared{Skip: SkipOptedOut}, prepare(user))
}
