package demoimages

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/catalog/demodata"
	"github.com/shopkit/shop/internal/images"
)

// Products are the demo catalogue's products (demodata.Catalog).
func Products() ([]catalog.ProductInput, error) {
	rows, err := catalog.ParseImport(demodata.Catalog)
	if err != nil {
		return nil, fmt.Errorf("demoimages: demo catalogue: %w", err)
	}
	out := make([]catalog.ProductInput, 0, len(rows))
	for _, r := range rows {
		if r.Err == "" {
			out = append(out, r.Product)
		}
	}
	return out, nil
}

// Seed gives each of these products that is in the store and has no image
// yet its Picture, with its name as alt text, through svc (checked, stored,
// recorded and processed as an upload is). A product with any image is
// left alone, so seeding again adds nothing. It answers how many it added.
func Seed(ctx context.Context, svc images.Service, products []catalog.ProductInput) (int, error) {
	skus := make([]string, len(products))
	for i, p := range products {
		skus[i] = p.SKU
	}
	bare, err := svc.Store.WithoutImages(ctx, skus)
	if err != nil {
		return 0, err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0)) // drawing and encoding is CPU work
	added := make([]bool, len(products))
	for i, p := range products {
		id, ok := bare[p.SKU]
		if !ok {
			continue
		}
		g.Go(func() error {
			data, err := Picture(p.Name, p.Category)
			if err != nil {
				return err
			}
			_, created, err := svc.Add(ctx, id, data, "image/png", p.Name, 0)
			if err != nil {
				return fmt.Errorf("demoimages: picture of %s: %w", p.SKU, err)
			}
			added[i] = created
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	n := 0
	for _, a := range added {
		if a {
			n++
		}
	}
	return n, nil
}
