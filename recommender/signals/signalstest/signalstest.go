// Package signalstest gives a test database a small catalog and a demo
// past (internal/demohistory) for the recommender to learn from.
package signalstest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/demohistory"
	"github.com/shopkit/shop/internal/money"
)

// Categories of the seeded catalog.
var Categories = []string{"Mugs", "Teas", "Lamps", "Books"}

// Seed writes 40 products in Categories (all in stock) and the past of
// customers shoppers; it answers the summary.
func Seed(t testing.TB, pool *pgxpool.Pool, customers int) demohistory.Summary {
	t.Helper()
	ctx := context.Background()
	var in []catalog.ProductInput
	for i := range 40 {
		c := Categories[i%len(Categories)]
		in = append(in, catalog.ProductInput{SKU: fmt.Sprintf("RECO-%02d", i), Name: fmt.Sprintf("%s %d", c, i),
			Description: fmt.Sprintf("A fine %s, number %d", c, i), Brand: []string{"Acme", "Nordvik"}[i%2],
			Category: c, Price: money.Money{Amount: int64(999 + 100*i), Currency: "USD"}, StockQuantity: 20})
	}
	_, err := catalog.NewStore(pool).UpsertProducts(ctx, in)
	require.NoError(t, err)
	sum, err := demohistory.Generate(ctx, pool, demohistory.Options{Customers: customers, Days: 60, Seed: 3, Now: time.Now()})
	require.NoError(t, err)
	require.Positive(t, sum.Orders)
	return sum
}
