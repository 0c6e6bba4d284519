package api

import (
	"context"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/money"
	"github.com/shopkit/shop/internal/validation"
)

// defaultCurrency prices products given as a bare number, as the original
// API's "price": 1999.99 does.
const defaultCurrency = "USD"

// priceFrom reads a price given as exact minor units or as a decimal number.
// The number is read exactly (money.FromFloat: its shortest decimal
// spelling, which is what the client wrote, parsed as a decimal) and both
// forms are bounded by money.MaxMajor (the catalog checks the exact form).
func priceFrom(field string, exact *catalogv1.Money, decimal *float64) (*money.Money, error) {
	switch {
	case exact != nil:
		return &money.Money{Amount: exact.GetAmountMinor(), Currency: exact.GetCurrency()}, nil
	case decimal != nil:
		m, err := money.FromFloat(*decimal, defaultCurrency)
		if err != nil {
			return nil, validation.New(field, "%v", err)
		}
		return &m, nil
	}
	return nil, nil
}

// CreateProduct implements CatalogService.
func (s *CatalogServer) CreateProduct(ctx context.Context, req *connect.Request[catalogv1.CreateProductRequest]) (*connect.Response[catalogv1.CreateProductResponse], error) {
	m := req.Msg
	price, err := priceFrom("price", m.GetPriceMoney(), m.Price)
	if err != nil {
		return nil, err
	}
	if price == nil {
		return nil, validation.New("price", "is required")
	}
	p, err := s.Store.CreateProduct(ctx, catalog.ProductDraft{
		SKU: m.GetSku(), Name: m.GetName(), Description: m.GetDescription(), Brand: m.GetBrand(),
		CategoryID: m.GetCategoryId(), Price: *price, StockQuantity: m.GetStockQuantity(), Attributes: m.GetAttributes(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.CreateProductResponse{Product: productProto(p)}), nil
}

// UpdateProduct implements CatalogService.
func (s *CatalogServer) UpdateProduct(ctx context.Context, req *connect.Request[catalogv1.UpdateProductRequest]) (*connect.Response[catalogv1.UpdateProductResponse], error) {
	m := req.Msg
	price, err := priceFrom("price", m.GetPriceMoney(), m.Price)
	if err != nil {
		return nil, err
	}
	patch := catalog.ProductPatch{Name: m.Name, Description: m.Description, Brand: m.Brand,
		CategoryID: m.CategoryId, Price: price, Active: m.Active}
	switch {
	case m.GetClearAttributes():
		patch.Attributes = map[string]string{}
	case len(m.GetAttributes()) > 0:
		patch.Attributes = m.GetAttributes()
	}
	p, err := s.Store.UpdateProduct(ctx, m.GetProductId(), patch)
	if err != nil {
		return nil, err
	}
	out := &catalogv1.UpdateProductResponse{Product: productProto(p)}
	if err := s.attachImages(ctx, out.Product); err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ArchiveProduct implements CatalogService.
func (s *CatalogServer) ArchiveProduct(ctx context.Context, req *connect.Request[catalogv1.ArchiveProductRequest]) (*connect.Response[catalogv1.ArchiveProductResponse], error) {
	if err := s.Store.ArchiveProduct(ctx, req.Msg.GetProductId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.ArchiveProductResponse{}), nil
}

// AdjustStock implements CatalogService.
func (s *CatalogServer) AdjustStock(ctx context.Context, req *connect.Request[catalogv1.AdjustStockRequest]) (*connect.Response[catalogv1.AdjustStockResponse], error) {
	m := req.Msg
	var actor int64
	if p, ok := principalFrom(ctx); ok {
		actor = p.UserID
	}
	after, err := s.Store.AdjustStockAt(ctx, m.GetLocationId(), m.GetProductId(), m.GetVariantId(), m.GetDelta(), m.GetReason(), actor)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.AdjustStockResponse{StockQuantity: after}), nil
}

// ListStockAdjustments implements CatalogService.
func (s *CatalogServer) ListStockAdjustments(ctx context.Context, req *connect.Request[catalogv1.ListStockAdjustmentsRequest]) (*connect.Response[catalogv1.ListStockAdjustmentsResponse], error) {
	list, err := s.Store.StockAdjustments(ctx, req.Msg.GetProductId(), req.Msg.GetLimit())
	if err != nil {
		return nil, err
	}
	out := &catalogv1.ListStockAdjustmentsResponse{Adjustments: make([]*catalogv1.StockAdjustment, 0, len(list))}
	for _, a := range list {
		out.Adjustments = append(out.Adjustments, &catalogv1.StockAdjustment{
			Id: a.ID, VariantId: a.VariantID, Delta: a.Delta, StockAfter: a.StockAfter, Reason: a.Reason,
			ActorUserId: a.ActorID, CreatedAt: timestamppb.New(a.CreatedAt), LocationId: a.LocationID,
		})
	}
	return connect.NewResponse(out), nil
}

// CreateVariant implements CatalogService.
func (s *CatalogServer) CreateVariant(ctx context.Context, req *connect.Request[catalogv1.CreateVariantRequest]) (*connect.Response[catalogv1.CreateVariantResponse], error) {
	m := req.Msg
	v, err := s.Store.CreateVariant(ctx, m.GetProductId(), catalog.VariantDraft{
		SKU: m.GetSku(), Attributes: m.GetAttributes(), PriceMinor: m.PriceMinor, StockQuantity: m.GetStockQuantity(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.CreateVariantResponse{Variant: variantProto(v)}), nil
}

// UpdateVariant implements CatalogService.
func (s *CatalogServer) UpdateVariant(ctx context.Context, req *connect.Request[catalogv1.UpdateVariantRequest]) (*connect.Response[catalogv1.UpdateVariantResponse], error) {
	m := req.Msg
	v, err := s.Store.UpdateVariant(ctx, m.GetProductId(), m.GetVariantId(), catalog.VariantDraft{
		SKU: m.GetSku(), Attributes: m.GetAttributes(), PriceMinor: m.PriceMinor, Active: m.Active,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.UpdateVariantResponse{Variant: variantProto(v)}), nil
}

// CreateCategory implements CatalogService.
func (s *CatalogServer) CreateCategory(ctx context.Context, req *connect.Request[catalogv1.CreateCategoryRequest]) (*connect.Response[catalogv1.CreateCategoryResponse], error) {
	m := req.Msg
	c, err := s.Store.CreateCategory(ctx, catalog.CategoryDraft{Name: m.GetName(), Slug: m.GetSlug(),
		ParentID: m.GetParentId(), Description: m.GetDescription()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.CreateCategoryResponse{Category: categoryProto(c)}), nil
}

// UpdateCategory implements CatalogService.
func (s *CatalogServer) UpdateCategory(ctx context.Context, req *connect.Request[catalogv1.UpdateCategoryRequest]) (*connect.Response[catalogv1.UpdateCategoryResponse], error) {
	m := req.Msg
	c, err := s.Store.UpdateCategory(ctx, m.GetCategoryId(), catalog.CategoryDraft{Name: m.GetName(), Slug: m.GetSlug(),
		ParentID: m.GetParentId(), Description: m.GetDescription()})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.UpdateCategoryResponse{Category: categoryProto(c)}), nil
}

// ArchiveCategory implements CatalogService.
func (s *CatalogServer) ArchiveCategory(ctx context.Context, req *connect.Request[catalogv1.ArchiveCategoryRequest]) (*connect.Response[catalogv1.ArchiveCategoryResponse], error) {
	if err := s.Store.ArchiveCategory(ctx, req.Msg.GetCategoryId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&catalogv1.ArchiveCategoryResponse{}), nil
}

func categoryProto(c catalog.Category) *catalogv1.Category {
	return &catalogv1.Category{Id: c.ID, Name: c.Name, Slug: c.Slug, ParentId: c.ParentID, Description: c.Description}
}

func variantProto(v catalog.Variant) *catalogv1.Variant {
	out := &catalogv1.Variant{Id: v.ID, Sku: v.SKU, Attributes: v.Attributes, StockQuantity: v.StockQuantity, Active: v.Active}
	if v.Price != nil {
		out.PriceMoney = &catalogv1.Money{AmountMinor: v.Price.Amount, Currency: v.Price.Currency}
		out.Price = v.Price.Decimal()
	}
	return out
}
