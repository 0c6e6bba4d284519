package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/gen/shop/catalog/v1/catalogv1connect"
	"github.com/shopkit/shop/internal/catalog"
)

// CatalogServer serves shop.catalog.v1.CatalogService.
type CatalogServer struct {
	Store   *catalog.Store
	Changes ChangeNotifier // may be nil
}

var _ catalogv1connect.CatalogServiceHandler = (*CatalogServer)(nil)

// ListCategories implements CatalogService.
func (s *CatalogServer) ListCategories(ctx context.Context, _ *connect.Request[catalogv1.ListCategoriesRequest]) (*connect.Response[catalogv1.ListCategoriesResponse], error) {
	cats, err := s.Store.ListCategories(ctx)
	if err != nil {
		return nil, err
	}
	out := &catalogv1.ListCategoriesResponse{Categories: make([]*catalogv1.Category, 0, len(cats))}
	for _, c := range cats {
		out.Categories = append(out.Categories, categoryProto(c))
	}
	return connect.NewResponse(out), nil
}

// ListProducts implements CatalogService.
func (s *CatalogServer) ListProducts(ctx context.Context, req *connect.Request[catalogv1.ListProductsRequest]) (*connect.Response[catalogv1.ListProductsResponse], error) {
	f := catalog.ListFilter{
		Skip: req.Msg.GetSkip(), Limit: req.Msg.GetLimit(),
		CategoryID: req.Msg.GetCategoryId(), Search: req.Msg.GetSearch(),
	}
	if err := f.Normalize(); err != nil {
		return nil, err
	}
	products, total, err := s.Store.ListProducts(ctx, f)
	if err != nil {
		return nil, err
	}
	out := &catalogv1.ListProductsResponse{
		Products: make([]*catalogv1.Product, 0, len(products)),
		Total:    total, Skip: f.Skip, Limit: f.Limit,
	}
	for _, p := range products {
		out.Products = append(out.Products, productProto(p))
	}
	return connect.NewResponse(out), nil
}

// GetProduct implements CatalogService.
func (s *CatalogServer) GetProduct(ctx context.Context, req *connect.Request[catalogv1.GetProductRequest]) (*connect.Response[catalogv1.GetProductResponse], error) {
	p, err := s.Store.GetProduct(ctx, req.Msg.GetProductId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.GetProductResponse{Product: productProto(p)}), nil
}

func productProto(p catalog.Product) *catalogv1.Product {
	variants := make([]*catalogv1.Variant, 0, len(p.Variants))
	for _, v := range p.Variants {
		variants = append(variants, variantProto(v))
	}
	return &catalogv1.Product{
		Id:            p.ID,
		Sku:           p.SKU,
		Name:          p.Name,
		Description:   p.Description,
		Brand:         p.Brand,
		CategoryId:    p.CategoryID,
		PriceMoney:    &catalogv1.Money{AmountMinor: p.Price.Amount, Currency: p.Price.Currency},
		Price:         p.Price.Decimal(),
		StockQuantity: p.StockQuantity,
		Active:        p.Active,
		CreatedAt:     timestamppb.New(p.CreatedAt),
		UpdatedAt:     timestamppb.New(p.UpdatedAt),
		Attributes:    p.Attributes,
		Variants:      variants,
	}
}
