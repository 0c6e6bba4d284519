package cart_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workers/shoptest"
)

type env struct {
	ctx     context.Context
	pool    *pgxpool.Pool
	catalog *catalog.Store
	coupons *coupons.Store
	s       *cart.Store
	cfg     cart.Config
	// widget 19.99 (10 in stock), laptop 1999.99 (50), mug 15.00 (5),
	// lamp 49.99 (none), shirt 25.00 with variants M (price of the
	// product, 3 in stock) and L (27.00, 8), euro 10.00 EUR.
	widget, laptop, mug, lamp, shirt, euro catalog.Product
	shirtM, shirtL                         catalog.Variant
}

func usd(a int64) money.Money { return money.Money{Amount: a, Currency: "USD"} }

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.New(t)
	e := &env{ctx: ctx, pool: pool, catalog: catalog.NewStore(pool), coupons: coupons.NewStore(pool)}
	e.s = cart.NewStore(pool, e.coupons)
	rules := shoptest.Settings()
	e.cfg = cart.Config{Shipping: rules.ShippingMethods, TaxRates: rules.TaxRates, DefaultCountry: rules.DefaultCountry}

	cat, err := e.catalog.CreateCategory(ctx, catalog.CategoryDraft{Name: "Things"})
	require.NoError(t, err)
	product := func(sku, name string, price money.Money, stock int32) catalog.Product {
		p, err := e.catalog.CreateProduct(ctx, catalog.ProductDraft{SKU: sku, Name: name, CategoryID: cat.ID, Price: price, StockQuantity: stock})
		require.NoError(t, err)
		return p
	}
	e.widget = product("WIDGET-1", "Widget", usd(1999), 10)
	e.laptop = product("LAPTOP-GAMING-001", "Gaming Laptop", usd(199999), 50)
	e.mug = product("MUG-001", "Travel Mug", usd(1500), 5)
	e.lamp = product("LAMP-001", "Desk Lamp", usd(4999), 0)
	e.shirt = product("SHIRT-1", "Shirt", usd(2500), 0)
	e.euro = product("EURO-1", "Euro Thing", money.Money{Amount: 1000, Currency: "EUR"}, 10)
	e.shirtM, err = e.catalog.CreateVariant(ctx, e.shirt.ID, catalog.VariantDraft{SKU: "SHIRT-1-M", StockQuantity: 3})
	require.NoError(t, err)
	e.shirtL, err = e.catalog.CreateVariant(ctx, e.shirt.ID, catalog.VariantDraft{SKU: "SHIRT-1-L", PriceMinor: ptr(int64(2700)), StockQuantity: 8})
	require.NoError(t, err)
	return e
}

func ptr[T any](v T) *T { return &v }

func (e *env) user(t *testing.T, name string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, e.pool.QueryRow(e.ctx, `INSERT INTO users (username, email, password_hash)
		VALUES ($1, $1 || '@example.com', 'x') RETURNING id`, name).Scan(&id))
	return id
}

func (e *env) add(t *testing.T, user int64, p catalog.Product, qty int32) int64 {
	t.Helper()
	id, err := e.s.Add(e.ctx, user, e.cfg, p.ID, 0, qty)
	require.NoError(t, err)
	return id
}

func (e *env) view(t *testing.T, user int64) cart.Cart {
	t.Helper()
	c, err := e.s.View(e.ctx, user, e.cfg)
	require.NoError(t, err)
	return c
}

func field(t *testing.T, err error) string {
	t.Helper()
	var ve *validation.Error
	require.ErrorAs(t, err, &ve)
	return ve.Field
}

func TestAddMergesAndPricesLikeCheckout(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")

	c := e.view(t, ann)
	assert.Empty(t, c.Lines)
	assert.Nil(t, c.Quote, "an empty cart has no totals")
	assert.Equal(t, "standard", c.ShippingMethod)
	assert.Equal(t, "US", c.Country)

	first := e.add(t, ann, e.widget, 1)
	second := e.add(t, ann, e.widget, 1)
	assert.Equal(t, first, second, "adding the same product again raises the line's quantity")
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Country: "us", Region: "ca"}))

	c = e.view(t, ann)
	require.Len(t, c.Lines, 1)
	l := c.Lines[0]
	assert.Equal(t, int32(2), l.Quantity)
	assert.Equal(t, usd(1999), l.UnitPrice)
	assert.Equal(t, usd(1999), l.AddedPrice)
	assert.Equal(t, usd(3998), l.LineTotal)
	assert.True(t, l.InStock)
	assert.True(t, l.Available)
	assert.False(t, l.PriceChanged)
	assert.Equal(t, "WIDGET-1", l.SKU)
	assert.Empty(t, c.Warnings)
	assert.Equal(t, "CA", c.Region)
	require.NotNil(t, c.Quote)
	// 2 x 19.99 = 39.98; standard shipping 5.99 (under 50.00); CA tax
	// 7.25% of 39.98 = 2.89855 -> 2.90; total 48.87.
	q := c.Quote
	assert.Equal(t, []int64{3998, 0, 599, 290, 4887}, []int64{q.Subtotal, q.Discount, q.Shipping, q.Tax, q.Total})
	assert.Equal(t, int64(72500), q.TaxPPM)

	// Express to Germany: 14.99 shipping, 19% of 39.98 = 7.5962 -> 7.60.
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Method: "Express", Country: "DE"}))
	c = e.view(t, ann)
	assert.Equal(t, "express", c.ShippingMethod)
	assert.Equal(t, "DE", c.Country)
	assert.Equal(t, "", c.Region, "a new country drops the old region")
	assert.Equal(t, []int64{3998, 1499, 760, 6257}, []int64{c.Quote.Subtotal, c.Quote.Shipping, c.Quote.Tax, c.Quote.Total})

	// Standard shipping is free from 50.00 of goods.
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Method: "standard"}))
	e.add(t, ann, e.mug, 1)
	c = e.view(t, ann)
	assert.Equal(t, "DE", c.Country, "an empty country keeps the cart's")
	// 39.98 + 15.00 = 54.98, no shipping, 19% = 10.4462 -> 10.45.
	assert.Equal(t, []int64{5498, 0, 1045, 6543}, []int64{c.Quote.Subtotal, c.Quote.Shipping, c.Quote.Tax, c.Quote.Total})

	// A shopper who chose nothing is taxed at the default country's rate.
	bob := e.user(t, "bob")
	e.add(t, bob, e.widget, 2)
	c = e.view(t, bob)
	assert.Equal(t, "US", c.Country)
	assert.Equal(t, []int64{3998, 599, 0, 4597}, []int64{c.Quote.Subtotal, c.Quote.Shipping, c.Quote.Tax, c.Quote.Total})
}

func TestAddVariants(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	_, err := e.s.Add(e.ctx, ann, e.cfg, e.shirt.ID, e.shirtL.ID, 1)
	require.NoError(t, err)
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.shirt.ID, e.shirtM.ID, 2)
	require.NoError(t, err)
	e.add(t, ann, e.shirt, 1)

	c := e.view(t, ann)
	require.Len(t, c.Lines, 3, "each variant, and the product itself, is a line of its own")
	assert.Equal(t, "SHIRT-1-L", c.Lines[0].SKU)
	assert.Equal(t, e.shirtL.ID, c.Lines[0].VariantID)
	assert.Equal(t, usd(2700), c.Lines[0].AddedPrice, "a variant's own price")
	assert.Equal(t, int32(8), c.Lines[0].Stock)
	assert.Equal(t, usd(2500), c.Lines[1].UnitPrice, "a variant without a price sells at the product's")
	assert.Equal(t, int32(3), c.Lines[1].Stock, "a variant's stock is its own")
	assert.Equal(t, int64(0), c.Lines[2].VariantID)
	assert.Equal(t, int64(2700+2*2500+2500), c.Quote.Subtotal)
}

func TestAddRefusesBadInput(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	other, err := e.catalog.CreateVariant(e.ctx, e.widget.ID, catalog.VariantDraft{SKU: "WIDGET-1-BLUE"})
	require.NoError(t, err)
	_, err = e.catalog.UpdateVariant(e.ctx, e.shirt.ID, e.shirtM.ID, catalog.VariantDraft{SKU: e.shirtM.SKU, Active: ptr(false)})
	require.NoError(t, err)
	require.NoError(t, e.catalog.ArchiveProduct(e.ctx, e.lamp.ID))

	for _, bad := range []struct {
		field            string
		product, variant int64
		quantity         int32
		why              string
	}{
		{"quantity", e.widget.ID, 0, 0, "zero"},
		{"quantity", e.widget.ID, 0, -1, "negative"},
		{"quantity", e.widget.ID, 0, 100, "over the line limit"},
		{"product_id", 0, 0, 1, "missing"},
		{"product_id", 987654, 0, 1, "unknown"},
		{"product_id", e.lamp.ID, 0, 1, "archived"},
		{"product_id", e.euro.ID, 0, 1, "not the shop's currency"},
		{"variant_id", e.shirt.ID, 987654, 1, "unknown variant"},
		{"variant_id", e.shirt.ID, other.ID, 1, "another product's variant"},
		{"variant_id", e.shirt.ID, e.shirtM.ID, 1, "archived variant"},
		{"variant_id", e.shirt.ID, -3, 1, "negative"},
	} {
		_, err := e.s.Add(e.ctx, ann, e.cfg, bad.product, bad.variant, bad.quantity)
		assert.Equal(t, bad.field, field(t, err), bad.why)
	}
	assert.Empty(t, e.view(t, ann).Lines, "nothing was added")

	e.add(t, ann, e.widget, 60)
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.widget.ID, 0, 40)
	assert.Equal(t, "quantity", field(t, err), "60 + 40 is over the line limit")
	assert.Equal(t, int32(60), e.view(t, ann).Lines[0].Quantity)
	e.add(t, ann, e.widget, 39)
	assert.Equal(t, int32(99), e.view(t, ann).Lines[0].Quantity)
}

func TestOneCurrencyPerCart(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	// Without a shop currency, the cart's first line sets it.
	var anyCurrency cart.Config
	_, err := e.s.Add(e.ctx, ann, anyCurrency, e.euro.ID, 0, 1)
	require.NoError(t, err)
	_, err = e.s.Add(e.ctx, ann, anyCurrency, e.widget.ID, 0, 1)
	assert.Equal(t, "product_id", field(t, err))
	assert.Contains(t, err.Error(), "the cart is in EUR")
}

func TestCartLineLimit(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	items := make([]catalog.ProductInput, pricing.MaxLines)
	for i := range items {
		items[i] = catalog.ProductInput{SKU: fmt.Sprintf("BULK-%03d", i), Name: "Bulk", Category: "Bulk", Price: usd(100), StockQuantity: 1}
	}
	_, err := e.catalog.UpsertProducts(e.ctx, items)
	require.NoError(t, err)
	rows, err := e.pool.Query(e.ctx, `SELECT id FROM products WHERE sku LIKE 'BULK-%' ORDER BY id`)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	for _, id := range ids {
		_, err := e.s.Add(e.ctx, ann, e.cfg, id, 0, 1)
		require.NoError(t, err)
	}
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.widget.ID, 0, 1)
	assert.Equal(t, "product_id", field(t, err))
	assert.Contains(t, err.Error(), "maximum of 100 lines")
	_, err = e.s.Add(e.ctx, ann, e.cfg, ids[0], 0, 1)
	require.NoError(t, err, "a full cart may still raise a line")
	c := e.view(t, ann)
	assert.Len(t, c.Lines, pricing.MaxLines)
	assert.Equal(t, int64(101*100), c.Quote.Subtotal)
}

func TestConcurrentAddsMergeIntoOneLine(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_, err := e.s.Add(e.ctx, ann, e.cfg, e.widget.ID, 0, 2)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	c := e.view(t, ann)
	require.Len(t, c.Lines, 1)
	assert.Equal(t, int32(20), c.Lines[0].Quantity)
}

func TestViewShowsPriceStockAndArchiveChanges(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	e.add(t, ann, e.laptop, 1)
	e.add(t, ann, e.mug, 6)
	e.add(t, ann, e.widget, 1)
	_, err := e.s.Add(e.ctx, ann, e.cfg, e.shirt.ID, e.shirtM.ID, 1)
	require.NoError(t, err)
	c := e.view(t, ann)
	assert.Equal(t, []string{"Travel Mug: only 5 in stock, 6 in the cart"}, c.Warnings)
	assert.False(t, c.Lines[1].InStock)
	assert.True(t, c.Lines[1].Available)
	assert.Equal(t, int32(5), c.Lines[1].Stock)

	_, err = e.catalog.UpdateProduct(e.ctx, e.laptop.ID, catalog.ProductPatch{Price: ptr(usd(189999))})
	require.NoError(t, err)
	_, err = e.catalog.AdjustStock(e.ctx, e.shirt.ID, e.shirtM.ID, -3, "sold elsewhere", 0)
	require.NoError(t, err)
	require.NoError(t, e.catalog.ArchiveProduct(e.ctx, e.widget.ID))

	c = e.view(t, ann)
	require.Len(t, c.Lines, 4)
	laptop, widget, shirt := c.Lines[0], c.Lines[2], c.Lines[3]
	assert.True(t, laptop.PriceChanged)
	assert.Equal(t, usd(199999), laptop.AddedPrice)
	assert.Equal(t, usd(189999), laptop.UnitPrice)
	assert.False(t, widget.Available)
	assert.False(t, widget.InStock)
	assert.Equal(t, int32(0), shirt.Stock)
	assert.False(t, shirt.InStock)
	assert.Equal(t, []string{
		"Gaming Laptop: price changed from 1999.99 USD to 1899.99 USD",
		"Travel Mug: only 5 in stock, 6 in the cart",
		"Widget is no longer available; remove it to check out",
		"Shirt is out of stock",
	}, c.Warnings)
	// The archived widget is not priced; the rest is, at current prices.
	assert.Equal(t, int64(189999+6*1500+2500), c.Quote.Subtotal)
	assert.Len(t, c.Quote.Lines, 3)

	// Adding the laptop again accepts its new price.
	e.add(t, ann, e.laptop, 1)
	c = e.view(t, ann)
	assert.False(t, c.Lines[0].PriceChanged)
	assert.Equal(t, usd(189999), c.Lines[0].AddedPrice)

	// A cart of archived items only has nothing to price.
	bob := e.user(t, "bob")
	e.add(t, bob, e.mug, 1)
	require.NoError(t, e.catalog.ArchiveProduct(e.ctx, e.mug.ID))
	c = e.view(t, bob)
	assert.Len(t, c.Lines, 1)
	assert.Nil(t, c.Quote)
}

func TestUpdateAndRemove(t *testing.T) {
	e := setup(t)
	ann, bob := e.user(t, "ann"), e.user(t, "bob")
	item := e.add(t, ann, e.widget, 1)

	assert.ErrorIs(t, e.s.Update(e.ctx, bob, e.cfg, item, 5), cart.ErrNotFound, "another shopper's item")
	assert.ErrorIs(t, e.s.Remove(e.ctx, bob, item), cart.ErrNotFound)
	assert.ErrorIs(t, e.s.Update(e.ctx, ann, e.cfg, 987654, 5), cart.ErrNotFound)
	assert.Equal(t, "quantity", field(t, e.s.Update(e.ctx, ann, e.cfg, item, 0)))
	assert.Equal(t, "quantity", field(t, e.s.Update(e.ctx, ann, e.cfg, item, -2)))
	assert.Equal(t, "quantity", field(t, e.s.Update(e.ctx, ann, e.cfg, item, 100)))
	assert.Equal(t, int32(1), e.view(t, ann).Lines[0].Quantity)

	require.NoError(t, e.s.Update(e.ctx, ann, e.cfg, item, 12))
	c := e.view(t, ann)
	assert.Equal(t, int32(12), c.Lines[0].Quantity)
	assert.Equal(t, []string{"Widget: only 10 in stock, 12 in the cart"}, c.Warnings)

	require.NoError(t, e.s.Remove(e.ctx, ann, item))
	assert.ErrorIs(t, e.s.Remove(e.ctx, ann, item), cart.ErrNotFound)
	c = e.view(t, ann)
	assert.Empty(t, c.Lines)
	assert.Nil(t, c.Quote)
}

func TestSetShippingRefusesBadInput(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	for _, bad := range []struct {
		field string
		in    cart.Shipping
	}{
		{"shipping_method", cart.Shipping{Method: "teleport"}},
		{"country", cart.Shipping{Country: "USA"}},
		{"country", cart.Shipping{Country: "U1"}},
		{"country", cart.Shipping{Region: "CA"}},
		{"region", cart.Shipping{Country: "US", Region: "XX"}},
	} {
		assert.Equal(t, bad.field, field(t, e.s.SetShipping(e.ctx, ann, e.cfg, bad.in)), "%+v", bad.in)
	}
	err := e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Method: "teleport"})
	assert.Contains(t, err.Error(), "choose one of standard, express", "the error lists what is offered, cheapest first")

	// A method the shop stopped offering falls back to standard, with a warning.
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Method: "express"}))
	e.add(t, ann, e.widget, 1)
	standardOnly := e.cfg
	standardOnly.Shipping = pricing.ShippingMethods{"standard": e.cfg.Shipping["standard"]}
	c, err := e.s.View(e.ctx, ann, standardOnly)
	require.NoError(t, err)
	assert.Equal(t, "standard", c.ShippingMethod)
	assert.Equal(t, int64(599), c.Quote.Shipping)
	assert.Contains(t, c.Warnings, `shipping method "express" is no longer offered; standard is used instead`)
}

func TestCouponOnTheCart(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	now := time.Now()
	for _, d := range []coupons.Draft{
		{Code: "TEN", PercentOff: "10"},
		{Code: "BIG", PercentOff: "20", MinSubtotal: usd(10000)},
		{Code: "FIVER", AmountOff: usd(500), MinSubtotal: usd(3000)},
		{Code: "OLD", PercentOff: "50", StartsAt: now.Add(-48 * time.Hour), EndsAt: now.Add(-24 * time.Hour)},
	} {
		_, err := e.coupons.Create(e.ctx, d)
		require.NoError(t, err)
	}
	item := e.add(t, ann, e.widget, 2)
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Country: "US", Region: "CA"}))

	assert.Equal(t, "code", field(t, e.s.SetCoupon(e.ctx, ann, e.cfg, "NOPE", now)))
	assert.Equal(t, "code", field(t, e.s.SetCoupon(e.ctx, ann, e.cfg, "  ", now)))
	assert.ErrorIs(t, e.s.SetCoupon(e.ctx, ann, e.cfg, "old", now), coupons.ErrNotApplicable)

	require.NoError(t, e.s.SetCoupon(e.ctx, ann, e.cfg, "ten", now))
	c := e.view(t, ann)
	assert.Equal(t, "TEN", c.CouponCode)
	assert.Empty(t, c.CouponProblem)
	require.NotNil(t, c.Coupon)
	// 39.98 - 10% (4.00, from 3.998) = 35.98; shipping 5.99; CA tax 7.25%
	// of 35.98 = 2.60855 -> 2.61; total 44.58.
	q := c.Quote
	assert.Equal(t, []int64{3998, 400, 599, 261, 4458}, []int64{q.Subtotal, q.Discount, q.Shipping, q.Tax, q.Total})

	// BIG needs 100.00 of goods: refused, and TEN stays.
	err := e.s.SetCoupon(e.ctx, ann, e.cfg, "BIG", now)
	assert.ErrorIs(t, err, pricing.ErrCouponNotApplicable)
	assert.Contains(t, err.Error(), "at least 100.00 USD")
	assert.Equal(t, "TEN", e.view(t, ann).CouponCode)

	// FIVER applies at 39.98, then the cart drops below its minimum: the
	// cart keeps the code, says why it does not apply, and prices without it.
	require.NoError(t, e.s.SetCoupon(e.ctx, ann, e.cfg, "FIVER", now))
	assert.Equal(t, int64(500), e.view(t, ann).Quote.Discount)
	require.NoError(t, e.s.Update(e.ctx, ann, e.cfg, item, 1))
	c = e.view(t, ann)
	assert.Equal(t, "FIVER", c.CouponCode)
	assert.Contains(t, c.CouponProblem, "at least 30.00 USD")
	assert.Nil(t, c.Coupon)
	assert.Equal(t, int64(0), c.Quote.Discount)
	assert.Equal(t, int64(1999+599+145), c.Quote.Total, "7.25% of 19.99 = 1.449275 -> 1.45")

	// A coupon switched off after it was applied.
	require.NoError(t, e.s.SetCoupon(e.ctx, ann, e.cfg, "TEN", now))
	_, err = e.pool.Exec(e.ctx, `UPDATE coupons SET active = false WHERE code = 'TEN'`)
	require.NoError(t, err)
	c = e.view(t, ann)
	assert.Equal(t, "coupon TEN is no longer valid", c.CouponProblem)
	assert.ErrorIs(t, c.CouponErr, coupons.ErrUnknown)

	require.NoError(t, e.s.ClearCoupon(e.ctx, ann))
	c = e.view(t, ann)
	assert.Empty(t, c.CouponCode)
	assert.Empty(t, c.CouponProblem)
}

func TestCheckoutReadsAndClearsInItsTransaction(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	_, err := e.coupons.Create(e.ctx, coupons.Draft{Code: "TEN", PercentOff: "10"})
	require.NoError(t, err)
	e.add(t, ann, e.widget, 2)
	e.add(t, ann, e.mug, 1)
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Method: "express", Country: "DE"}))
	require.NoError(t, e.s.SetCoupon(e.ctx, ann, e.cfg, "TEN", time.Now()))

	require.NoError(t, pgx.BeginFunc(e.ctx, e.pool, func(tx pgx.Tx) error {
		c, err := e.s.Lines(e.ctx, tx, ann)
		require.NoError(t, err)
		assert.Len(t, c.Items, 2)
		assert.Equal(t, "TEN", c.CouponCode)
		assert.Equal(t, "express", c.ShippingMethod)
		assert.Equal(t, "DE", c.Destination.Country)
		priced, err := e.s.Price(e.ctx, tx, ann, c, e.cfg, time.Now())
		require.NoError(t, err)
		assert.Equal(t, int64(3998+1500), priced.Quote.Subtotal)
		assert.Equal(t, int64(550), priced.Quote.Discount)
		return e.s.Clear(e.ctx, tx, ann)
	}))
	c := e.view(t, ann)
	assert.Empty(t, c.Lines)
	assert.Empty(t, c.CouponCode, "the order used the coupon")
	assert.Equal(t, "express", c.ShippingMethod, "the shipping choice stays")
	assert.Equal(t, "DE", c.Country)
}

func TestShippingDestinationIsAValidatedAddress(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	e.add(t, ann, e.widget, 2)
	la := &address.Address{Name: "Ann Lee", Line1: "1 Main St", City: "Los Angeles", PostalCode: "90001", Country: "us"}
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Address: la}))
	c := e.view(t, ann)
	assert.Equal(t, "US", c.Country)
	assert.Equal(t, "CA", c.Region, "the state comes from the ZIP code")
	assert.Equal(t, "1 Main St", c.Destination.Line1)
	assert.Equal(t, int64(72500), c.Quote.TaxPPM, "taxed as California")

	for _, bad := range []struct {
		field string
		in    cart.Shipping
	}{
		{"address.country", cart.Shipping{Address: &address.Address{Line1: "1 Main St", City: "LA", PostalCode: "90001", Country: "ZZ"}}},
		{"address.postal_code", cart.Shipping{Address: &address.Address{Line1: "1 Main St", City: "LA", Region: "OR", PostalCode: "90001", Country: "US"}}},
		{"address.city", cart.Shipping{Address: &address.Address{Line1: "1 Main St", Region: "CA", PostalCode: "90001", Country: "US"}}},
		{"region", cart.Shipping{Address: la, Region: "OR"}},
		{"country", cart.Shipping{Address: la, Country: "DE"}},
		{"country", cart.Shipping{Country: "ZZ"}},
		{"region", cart.Shipping{Country: "US", Region: "ON"}},
	} {
		assert.Equal(t, bad.field, field(t, e.s.SetShipping(e.ctx, ann, e.cfg, bad.in)), "%+v", bad.in)
	}
	c = e.view(t, ann)
	assert.Equal(t, "CA", c.Region, "refused changes changed nothing")

	// An estimate needs only the country (and checks a postal code given).
	require.NoError(t, e.s.SetShipping(e.ctx, ann, e.cfg, cart.Shipping{Address: &address.Address{Country: "US", PostalCode: "97201"}}))
	c = e.view(t, ann)
	assert.Equal(t, "OR", c.Region)
	assert.Equal(t, int64(0), c.Quote.TaxPPM)
	assert.Empty(t, c.Destination.Line1, "a new destination replaces the whole address")
}

func TestCartAmountsAreBounded(t *testing.T) {
	e := setup(t)
	ann := e.user(t, "ann")
	max := money.MaxAmount("USD")
	half, err := e.catalog.CreateProduct(e.ctx, catalog.ProductDraft{SKU: "HALF-MAX", Name: "Half the maximum",
		CategoryID: e.widget.CategoryID, Price: usd(max/2 + 1), StockQuantity: 5})
	require.NoError(t, err)
	_, err = e.catalog.CreateProduct(e.ctx, catalog.ProductDraft{SKU: "TOO-MUCH", Name: "x", CategoryID: e.widget.CategoryID,
		Price: usd(max + 1)})
	assert.Equal(t, "price", field(t, err), "prices above 1,000,000,000.00 are refused")

	item := e.add(t, ann, half, 1)
	assert.Equal(t, "quantity", field(t, e.s.Update(e.ctx, ann, e.cfg, item, 2)), "2 x half the maximum")
	_, err = e.s.Add(e.ctx, ann, e.cfg, half.ID, 0, 1)
	assert.Equal(t, "quantity", field(t, err))
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.laptop.ID, 0, 1)
	require.NoError(t, err, "the total is still within the bound")
	c := e.view(t, ann)
	assert.Equal(t, int32(1), c.Lines[0].Quantity, "refused changes changed nothing")
	require.NotNil(t, c.Quote)

	// A price stored above the bound (before it existed) shows the cart
	// without totals, never an error.
	_, err = e.pool.Exec(e.ctx, `UPDATE products SET price_minor = $2 WHERE id = $1`, half.ID, int64(math.MaxInt64))
	require.NoError(t, err)
	c = e.view(t, ann)
	assert.Nil(t, c.Quote)
	require.ErrorIs(t, c.TotalErr, pricing.ErrTooLarge)
	assert.Contains(t, c.Warnings, c.TotalProblem)
	assert.Contains(t, c.TotalProblem, "Half the maximum")
	assert.Zero(t, c.Lines[0].LineTotal, "a line above the bound has no total")
	_, err = e.s.Add(e.ctx, ann, e.cfg, e.mug.ID, 0, 1)
	assert.Equal(t, "quantity", field(t, err), "nothing can be added until the line is fixed")
	require.NoError(t, e.s.Remove(e.ctx, ann, item))
	require.NotNil(t, e.view(t, ann).Quote)
}
