package workers_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/backinstock"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/email"
)

// backInStockShop runs a shop with a worker and an outbox relay that
// delivers to the back-in-stock consumer, as `shop worker` does.
func backInStockShop(t *testing.T) *shoptest.Shop {
	t.Helper()
	s := shoptest.New(t, time.Hour)
	// Email workflow ids derive from subscription ids: unique on the
	// shared Temporal server.
	_, err := s.Pool.Exec(context.Background(), fmt.Sprintf(
		"ALTER TABLE back_in_stock_subscriptions ALTER COLUMN id RESTART WITH %d", 1_000_000+rand.Int64N(1<<40)))
	require.NoError(t, err)
	s.StartRelay(t, backinstock.Consumer{Pool: s.Pool, ShopURL: shoptest.ShopURL,
		Mail: &email.Client{Temporal: s.Temporal, TaskQueue: s.Queue}})
	return s
}

// drained waits until the back-in-stock consumer has delivered every event.
func drained(t *testing.T, s *shoptest.Shop) {
	t.Helper()
	require.Eventually(t, func() bool {
		bl, err := outbox.Backlogs(context.Background(), s.Pool)
		require.NoError(t, err)
		for _, b := range bl {
			if b.Consumer == backinstock.ConsumerName {
				return b.Pending == 0
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond)
}

func TestBackInStockEmailsEachSubscriberOnce(t *testing.T) {
	s := backInStockShop(t)
	ctx := context.Background()
	subs := backinstock.NewStore(s.Pool)
	user := s.User(t, "dee")
	lamp := s.Product(t, "LAMP-SOLDOUT", 4999, 0)
	mug := s.Product(t, "MUG-INSTOCK", 1500, 3)
	red, err := s.Catalog.CreateVariant(ctx, lamp.ID, catalog.VariantDraft{SKU: "LAMP-SOLDOUT-RED", Attributes: map[string]string{"colour": "red"}})
	require.NoError(t, err)

	sub, err := subs.Subscribe(ctx, user, lamp.ID, 0)
	require.NoError(t, err)
	again, err := subs.Subscribe(ctx, user, lamp.ID, 0)
	require.NoError(t, err)
	assert.Equal(t, sub, again, "subscribing twice is one subscription")
	subRed, err := subs.Subscribe(ctx, user, lamp.ID, red.ID)
	require.NoError(t, err)
	assert.NotEqual(t, sub.ID, subRed.ID)

	var ve *validation.Error
	_, err = subs.Subscribe(ctx, user, mug.ID, 0)
	require.True(t, errors.As(err, &ve), "in stock: %v", err)
	assert.Equal(t, "product_id", ve.Field)
	_, err = subs.Subscribe(ctx, user, 1<<40, 0)
	require.ErrorIs(t, err, catalog.ErrNotFound)
	_, err = subs.Subscribe(ctx, user, mug.ID, red.ID)
	require.True(t, errors.As(err, &ve), "not the mug's variant: %v", err)
	assert.Equal(t, "variant_id", ve.Field)

	// The lamp itself is restocked: its subscriber hears once; the red
	// variant is still sold out.
	_, err = s.Catalog.AdjustStock(ctx, lamp.ID, 0, 5, "restock", 0)
	require.NoError(t, err)
	msgs := s.SMTP.WaitFor(t, 1, time.Minute)
	subject, body := textPart(t, msgs[0])
	assert.Equal(t, "Product LAMP-SOLDOUT is back in stock", subject)
	assert.Contains(t, body, fmt.Sprintf("http://shop.test/p/%d", lamp.ID))
	assert.Equal(t, []string{"dee@example.com"}, msgs[0].To)

	// A second restock sends nothing more.
	_, err = s.Catalog.AdjustStock(ctx, lamp.ID, 0, 1, "restock", 0)
	require.NoError(t, err)
	drained(t, s)

	// The variant comes back: its own subscription is answered, once.
	_, err = s.Catalog.AdjustStock(ctx, lamp.ID, red.ID, 2, "restock", 0)
	require.NoError(t, err)
	msgs = s.SMTP.WaitFor(t, 2, time.Minute)
	subject, _ = textPart(t, msgs[1])
	assert.Equal(t, "Product LAMP-SOLDOUT (LAMP-SOLDOUT-RED) is back in stock", subject)
	_, err = s.Catalog.AdjustStock(ctx, lamp.ID, red.ID, 1, "restock", 0)
	require.NoError(t, err)
	drained(t, s)

	var pending, sent int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE notified_at IS NULL), count(*) FILTER (WHERE notified_at IS NOT NULL)
		FROM back_in_stock_subscriptions`).Scan(&pending, &sent))
	assert.Equal(t, [2]int{0, 2}, [2]int{pending, sent})
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM emails WHERE kind = 'back_in_stock' AND status = 'sent'`).Scan(&n))
		return n == 2
	}, 30*time.Second, 50*time.Millisecond)
	assert.Len(t, s.SMTP.Messages(), 2, "one email per subscription")

	// Redelivering the events (a relay crash before its commit) asks
	// for nothing new.
	require.NoError(t, backinstock.Consumer{Pool: s.Pool, ShopURL: shoptest.ShopURL,
		Mail: &email.Client{Temporal: s.Temporal, TaskQueue: s.Queue}}.Deliver(ctx,
		[]outbox.Event{{ID: 1, Topic: outbox.TopicProductChanged, EntityID: lamp.ID}}))
	assert.Len(t, s.SMTP.Messages(), 2)

	// Once notified, a shopper may subscribe again when it sells out.
	_, err = s.Catalog.AdjustStock(ctx, lamp.ID, 0, -6, "sold", 0)
	require.NoError(t, err)
	_, err = s.Catalog.AdjustStock(ctx, lamp.ID, red.ID, -3, "sold", 0)
	require.NoError(t, err)
	next, err := subs.Subscribe(ctx, user, lamp.ID, 0)
	require.NoError(t, err)
	assert.NotEqual(t, sub.ID, next.ID)
}
