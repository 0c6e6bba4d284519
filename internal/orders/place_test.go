package orders_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/address"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/validation"
	"github.com/shopkit/shop/workers/shoptest"
)

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var fe *validation.Error
	require.ErrorAs(t, err, &fe)
	return fe.Field
}

// The tax follows the shipping address: the legacy shipping_country and
// shipping_region can neither choose another jurisdiction nor name an
// unknown one.
func TestTaxFollowsTheShippingAddress(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "tess")
	p := s.Product(t, "TAX-1", 10000, 50)
	item := orders.Item{ProductID: p.ID, Quantity: 1}
	la := address.Address{Name: "Tess Ray", Line1: "1 Main St", City: "Los Angeles", Region: "CA", PostalCode: "90001", Country: "US"}

	structured := placeInput(t, s, user, item)
	structured.ShippingAddress, structured.Shipping = "", &la
	o, err := s.Orders.Place(ctx, structured)
	require.NoError(t, err)
	assert.Equal(t, int64(725), o.Tax, "7.25% of 100.00 in California")
	assert.Equal(t, "Tess Ray, 1 Main St, Los Angeles, CA 90001, US", o.ShippingAddress)
	require.NotNil(t, o.ShipTo)
	assert.Equal(t, la, *o.ShipTo, "the structured address is stored field by field")
	var line1, country, region string
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT shipping_line1, shipping_country, shipping_region FROM orders WHERE id = $1`,
		o.ID).Scan(&line1, &country, &region))
	assert.Equal(t, []string{"1 Main St", "US", "CA"}, []string{line1, country, region})

	for _, c := range []struct {
		name, field     string
		free            string
		shipping        *address.Address
		country, region string
	}{
		{"unknown country beside a CA address", "shipping_country", "1 Main St, Los Angeles, CA 90001", nil, "ZZ", ""},
		{"another state than the address's", "shipping_region", "1 Main St, Los Angeles, CA 90001", nil, "", "OR"},
		{"another state beside a structured address", "shipping_region", "", &la, "US", "OR"},
		{"another country beside a structured address", "shipping_country", "", &la, "DE", ""},
		{"a region for a free-form address without one", "shipping_region", "1 Main St, Los Angeles", nil, "US", "CA"},
		{"a country for a free-form address", "shipping_country", "1 Main St, Los Angeles", nil, "HK", ""},
		{"a ZIP code of another state", "shipping_address", "1 Main St, Los Angeles, OR 90001", nil, "", ""},
		{"an unknown structured country", "shipping.country", "", &address.Address{Line1: "1 Main St", City: "X", Country: "ZZ"}, "", ""},
		{"an unknown structured state", "shipping.region", "", &address.Address{Line1: "1 Main St", City: "X", Region: "XX", PostalCode: "90001", Country: "US"}, "", ""},
		{"a structured state the ZIP contradicts", "shipping.postal_code", "", &address.Address{Line1: "1 Main St", City: "X", Region: "OR", PostalCode: "90001", Country: "US"}, "", ""},
	} {
		in := placeInput(t, s, user, item)
		in.ShippingAddress, in.Shipping, in.Country, in.Region = c.free, c.shipping, c.country, c.region
		_, err := s.Orders.Place(ctx, in)
		assert.Equal(t, c.field, fieldOf(t, err), "%s: %v", c.name, err)
	}
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&n))
	assert.Equal(t, 1, n, "no refused order was written")

	// Agreeing legacy fields are fine; a territory is the US region.
	agree := placeInput(t, s, user, item)
	agree.ShippingAddress, agree.Country, agree.Region = "1 Main St, Los Angeles, CA 90001", "us", "ca"
	o, err = s.Orders.Place(ctx, agree)
	require.NoError(t, err)
	assert.Equal(t, []string{"US", "CA"}, []string{o.Country, o.Region})
	assert.Equal(t, int64(725), o.Tax)

	// The seed's free-form address: its ZIP code 12345 is in New York (no
	// rate configured here), so that is where it is taxed.
	seed := placeInput(t, s, user, item)
	seed.ShippingAddress = "123 Main St, City, State 12345"
	o, err = s.Orders.Place(ctx, seed)
	require.NoError(t, err)
	assert.Equal(t, []string{"US", "NY"}, []string{o.Country, o.Region})
	assert.Zero(t, o.Tax)
	assert.Nil(t, o.ShipTo)

	// Leaving the state out (or misspelling it) does not dodge its tax: the
	// ZIP code names it.
	for _, free := range []string{"1 Main St, Los Angeles 90001", "1 Main St, Los Angeles, Calif. 90001"} {
		in := placeInput(t, s, user, item)
		in.ShippingAddress = free
		o, err = s.Orders.Place(ctx, in)
		require.NoError(t, err, free)
		assert.Equal(t, []string{"US", "CA"}, []string{o.Country, o.Region}, free)
		assert.Equal(t, int64(725), o.Tax, free)
	}

	// With no ZIP code at all, the default country's own rate applies.
	vague := placeInput(t, s, user, item)
	vague.ShippingAddress = "1 Main St, Los Angeles"
	o, err = s.Orders.Place(ctx, vague)
	require.NoError(t, err)
	assert.Equal(t, []string{"US", ""}, []string{o.Country, o.Region})
}

func TestOrderAmountsAreBounded(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, 0)
	ctx := context.Background()
	user := s.User(t, "max")
	max := money.MaxAmount("USD")
	small := s.Product(t, "SMALL-1", 100, 50)
	half := s.Product(t, "HALF-1", max/2+1, 50)
	huge := s.Product(t, "HUGE-1", 100, 50)
	// A price stored before prices were bounded.
	_, err := s.Pool.Exec(ctx, `UPDATE products SET price_minor = $2 WHERE id = $1`, huge.ID, int64(math.MaxInt64))
	require.NoError(t, err)

	for _, c := range []struct {
		name, field string
		items       []orders.Item
	}{
		{"int64-max price", "items[1]", []orders.Item{{ProductID: small.ID, Quantity: 1}, {ProductID: huge.ID, Quantity: 1}}},
		{"quantity times price", "items[0]", []orders.Item{{ProductID: half.ID, Quantity: 2}}},
		{"repeated lines add up", "items[1]", []orders.Item{{ProductID: small.ID, Quantity: 1}, {ProductID: half.ID, Quantity: 1}, {ProductID: half.ID, Quantity: 1}}},
		{"sum of lines", "items", []orders.Item{{ProductID: half.ID, Quantity: 1}, {ProductID: small.ID, Quantity: 1}, {ProductID: s.Product(t, "HALF-2", max/2+1, 5).ID, Quantity: 1}}},
	} {
		_, err := s.Orders.Place(ctx, placeInput(t, s, user, c.items...))
		assert.Equal(t, c.field, fieldOf(t, err), "%s: %v", c.name, err)
	}
	assert.Equal(t, int32(50), s.Stock(t, half.ID), "refused orders hold no stock")
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&n))
	assert.Zero(t, n)
}
