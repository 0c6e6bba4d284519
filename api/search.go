package api

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"connectrpc.com/connect"

	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/validation"
)

// maxQueryLen bounds search text; longer input is cut, not refused, so a
// pasted paragraph still searches.
const maxQueryLen = 500

var sorts = map[string]search.Sort{
	"": search.SortRelevance, "relevance": search.SortRelevance,
	"price_asc": search.SortPriceAsc, "price_desc": search.SortPriceDesc, "newest": search.SortNewest,
}

// SearchProducts implements CatalogService.
func (s *CatalogServer) SearchProducts(ctx context.Context, req *connect.Request[catalogv1.SearchProductsRequest]) (*connect.Response[catalogv1.SearchProductsResponse], error) {
	// The schema bounds each field (sort, skip, limit, prices, category);
	// how they relate is checked here.
	m := req.Msg
	sort := sorts[m.GetSort()]
	limit := m.GetLimit()
	if limit == 0 {
		limit = 20
	}
	if m.MaxPriceMinor != nil && m.MinPriceMinor != nil && *m.MaxPriceMinor < *m.MinPriceMinor {
		return nil, validation.New("max_price_minor", "must not be below min_price_minor")
	}
	res, err := s.Search.Search(ctx, search.Query{
		Text: clip(m.GetQ()), CategoryID: m.GetCategoryId(), Brands: m.GetBrands(),
		MinPrice: m.MinPriceMinor, MaxPrice: m.MaxPriceMinor, InStock: m.GetInStock(),
		Sort: sort, Offset: int(m.GetSkip()), Limit: int(limit),
	})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(res.Hits))
	for _, h := range res.Hits {
		ids = append(ids, h.ProductID)
	}
	products, err := s.Store.ProductsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	cats, err := s.categories(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(cats.GetCategories()))
	for _, c := range cats.GetCategories() {
		names[c.GetId()] = c.GetName()
	}
	out := &catalogv1.SearchProductsResponse{Total: int32(res.Total)}
	for _, h := range res.Hits {
		p, ok := products[h.ProductID]
		if !ok {
			continue // archived since the index saw it
		}
		out.Hits = append(out.Hits, &catalogv1.SearchHit{Product: productProto(p), Score: h.Score, Highlights: h.Highlights})
	}
	hits := make([]*catalogv1.Product, len(out.Hits))
	for i, h := range out.Hits {
		hits[i] = h.Product
	}
	if err := s.attachImages(ctx, hits...); err != nil {
		return nil, err
	}
	for _, f := range res.Categories {
		id, _ := strconv.ParseInt(f.Key, 10, 64)
		out.Categories = append(out.Categories, &catalogv1.FacetCount{Key: f.Key, Label: names[id], Count: int32(f.Count)})
	}
	for _, f := range res.Brands {
		out.Brands = append(out.Brands, &catalogv1.FacetCount{Key: f.Key, Label: f.Key, Count: int32(f.Count)})
	}
	for _, b := range res.Prices {
		out.Prices = append(out.Prices, &catalogv1.PriceBucket{FromMinor: b.From, ToMinor: b.To, Count: int32(b.Count)})
	}
	return connect.NewResponse(out), nil
}

// SuggestProducts implements CatalogService.
func (s *CatalogServer) SuggestProducts(ctx context.Context, req *connect.Request[catalogv1.SuggestProductsRequest]) (*connect.Response[catalogv1.SuggestProductsResponse], error) {
	limit := req.Msg.GetLimit()
	if limit == 0 {
		limit = 8
	}
	out := &catalogv1.SuggestProductsResponse{}
	q := strings.TrimSpace(clip(req.Msg.GetQ()))
	if q == "" {
		return connect.NewResponse(out), nil
	}
	list, err := s.Search.Suggest(ctx, q, int(limit))
	if err != nil {
		return nil, err
	}
	for _, sg := range list {
		out.Suggestions = append(out.Suggestions, &catalogv1.Suggestion{ProductId: sg.ProductID, Name: sg.Name})
	}
	return connect.NewResponse(out), nil
}

// clip cuts text to maxQueryLen bytes without splitting a character.
func clip(s string) string {
	if len(s) <= maxQueryLen {
		return s
	}
	s = s[:maxQueryLen]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
