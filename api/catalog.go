package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/shopkit/shop/gen/shop/catalog/v1"
	"github.com/shopkit/shop/gen/shop/catalog/v1/catalogv1connect"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/search"
)

// CatalogServer serves shop.catalog.v1.CatalogService.
type CatalogServer struct {
	Store  *catalog.Store
	Search search.Backend // PostgreSQL or Elasticsearch
	Cache  *cache.Cache   // may be nil: no caching
	Images Images         // product images (zero: none)
}

// Lifetimes of cached storefront reads. Every catalog write drops the
// entries it affects through the outbox (catalog.CacheConsumer), so the TTLs
// only bound what a lost Redis write could leave behind.
const (
	productTTL = 10 * time.Minute
	listTTL    = 2 * time.Minute
)

// cached answers from the cache when there is one, else calls load directly.
func cached[T proto.Message](ctx context.Context, c *cache.Cache, key string, ttl time.Duration, fresh func() T,
	load func(ctx context.Context) (T, error), opts ...cache.Option) (T, error) {
	msg, _, err := cachedProto(ctx, c, key, ttl, fresh, load, opts...)
	return msg, err
}

// cachedProto is cached that also returns the message's protobuf form as
// cached (nil when it came straight from load).
func cachedProto[T proto.Message](ctx context.Context, c *cache.Cache, key string, ttl time.Duration, fresh func() T,
	load func(ctx context.Context) (T, error), opts ...cache.Option) (T, []byte, error) {
	if c == nil {
		msg, err := load(ctx)
		return msg, nil, err
	}
	b, err := c.GetOrLoad(ctx, key, ttl, func(ctx context.Context) ([]byte, error) {
		msg, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return proto.Marshal(msg)
	}, opts...)
	if err != nil {
		return fresh(), nil, err
	}
	msg := fresh()
	if err := proto.Unmarshal(b, msg); err != nil {
		msg, err := load(ctx) // an entry from an older schema: serve fresh data
		return msg, nil, err
	}
	return msg, b, nil
}

// Forms of a response kept in the cache's local level.
const (
	formCarrier = "carrier" // preencodedCarrier: the Connect JSON and protobuf forms
	formREST    = "rest"    // the REST route's body, when it is one field of the message
)

// cachedRPC is cached for req's whole response. A response held in this
// process's memory comes back as a carrier (see preencodedCarrier) when
// req's codec is one of ours: the codec writes its stored bytes, nothing is
// decoded or encoded. Any other codec would write the carrier as an empty
// message, so it gets the stored protobuf form decoded. A response not in
// memory is read through Redis as cached does and its encoded forms are
// kept locally. restField is the REST route's response_body field, or nil.
func cachedRPC[T proto.Message](ctx context.Context, req connect.AnyRequest, c *cache.Cache, key string, ttl time.Duration, fresh func() T,
	restField protoreflect.FieldDescriptor, load func(ctx context.Context) (T, error), opts ...cache.Option) (T, error) {
	if c == nil {
		return load(ctx)
	}
	if forms := c.Local(key); forms != nil {
		msg := fresh()
		if carrierCodec(req) {
			msg.ProtoReflect().SetUnknown(forms[formCarrier])
			return msg, nil
		}
		if _, pb, ok := splitCarrier(forms[formCarrier]); ok && proto.Unmarshal(pb, msg) == nil {
			return msg, nil
		}
	}
	ticket := c.LocalTicket() // before Redis is read: see cache.PutLocal
	msg, pb, err := cachedProto(ctx, c, key, ttl, fresh, load, opts...)
	if err != nil || pb == nil || !c.LocalServing() {
		return msg, err
	}
	if forms, err := encodeForms(msg, pb, restField); err == nil {
		c.PutLocal(ticket, key, forms, opts...)
	}
	return msg, nil
}

// carrierCodec says whether req's response is written by jsonCodec or
// protoCodec (which write a carrier's stored bytes): the codec name Connect
// takes from its content type (or, for a Connect GET, its encoding
// parameter) is one they are registered under.
func carrierCodec(req connect.AnyRequest) bool {
	p, ct := req.Peer(), req.Header().Get("Content-Type")
	var name string
	switch p.Protocol {
	case connect.ProtocolConnect:
		if req.HTTPMethod() == http.MethodGet {
			name = p.Query.Get("encoding")
		} else if strings.HasPrefix(ct, "application/") {
			name = ct[len("application/"):]
		}
	case connect.ProtocolGRPC, connect.ProtocolGRPCWeb:
		base := "application/grpc"
		if p.Protocol == connect.ProtocolGRPCWeb {
			base = "application/grpc-web"
		}
		if ct == base {
			name = protoCodec{}.Name()
		} else if strings.HasPrefix(ct, base+"+") {
			name = ct[len(base+"+"):]
		}
	}
	return carrierCodecNames[name]
}

// carrierCodecNames are the names of codecs.
var carrierCodecNames = func() map[string]bool {
	names := map[string]bool{}
	for _, c := range codecs {
		names[c.Name()] = true
	}
	return names
}()

// encodeForms encodes msg as the codecs and the REST transcoder would.
func encodeForms(msg proto.Message, pb []byte, restField protoreflect.FieldDescriptor) (map[string][]byte, error) {
	j, err := jsonMarshal.Marshal(msg)
	if err != nil {
		return nil, err
	}
	forms := map[string][]byte{formCarrier: preencodedCarrier(j, pb)}
	if restField != nil {
		rest, err := restFieldCodec.MarshalAppendField(nil, msg, restField)
		if err != nil {
			return nil, err
		}
		forms[formREST] = rest
	}
	return forms, nil
}

// localConnect answers Connect JSON GetProduct calls whose product the
// local cache holds, before the Connect handler: after the access check and
// the rate limit, it writes the stored JSON, as the handler would. Anything
// else (another RPC, protobuf, a compressed or odd request, a timeout, a
// query, a miss, a refusal) goes on to the Connect handler, which answers
// it in full.
type localConnect struct {
	next    http.Handler
	gate    *gate
	catalog *CatalogServer
}

func (l *localConnect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const proc = catalogv1connect.CatalogServiceGetProductProcedure
	h := r.Header
	if l.catalog.Cache == nil || r.URL.Path != proc || r.Method != http.MethodPost || h.Get("Content-Type") != "application/json" ||
		h.Get("Content-Encoding") != "" || (h.Get("Connect-Protocol-Version") != "" && h.Get("Connect-Protocol-Version") != "1") ||
		h.Get("Connect-Timeout-Ms") != "" || r.URL.RawQuery != "" ||
		r.ContentLength <= 0 || r.ContentLength > 256 {
		l.next.ServeHTTP(w, r)
		return
	}
	body := make([]byte, r.ContentLength)
	n, err := io.ReadFull(r.Body, body)
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body[:n]), r.Body), r.Body} // put back what was read
	var req catalogv1.GetProductRequest
	if err != nil || jsonUnmarshal.Unmarshal(body, &req) != nil || req.GetProductId() <= 0 {
		l.next.ServeHTTP(w, r)
		return
	}
	forms := l.catalog.Cache.Local(catalog.ProductCacheKey(req.GetProductId()))
	j, _, ok := splitCarrier(forms[formCarrier])
	if !ok {
		l.next.ServeHTTP(w, r)
		return
	}
	ctx, rule, p, err := l.gate.authorize(r.Context(), proc, h)
	if err != nil {
		l.next.ServeHTTP(w, r) // the handler answers the refusal in its format
		return
	}
	if err := l.gate.rateLimit(ctx, rule, p, l.gate.clientIP(h, r.RemoteAddr)); err != nil {
		// Decided: the interceptor answers it without asking the limiter again.
		l.next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, limitedKey{}, limited{procedure: proc, err: err})))
		return
	}
	done := metrics.ObserveRPC(ctx, proc, "connect")
	defer done(nil)
	wh := w.Header()
	wh["Content-Type"] = []string{"application/json"}
	wh["Accept-Encoding"] = []string{"gzip"} // as the Connect handler answers
	wh["Content-Length"] = []string{strconv.Itoa(len(j))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(j)
}

// restFieldCodec encodes a REST response_body field as the transcoder does.
var restFieldCodec = restCodec(protoregistry.GlobalTypes).(restJSONCodec)

// getProductRESTField is the field GetProduct's REST route answers with.
var getProductRESTField = restResponseField(catalogv1connect.CatalogServiceGetProductProcedure)

// localREST answers a REST GET from the local level: the transcoder's body
// for the route, stored when the RPC was last served, or false.
func (s *CatalogServer) localREST(r *http.Request, procedure string) ([]byte, bool) {
	if s.Cache == nil || procedure != catalogv1connect.CatalogServiceGetProductProcedure {
		return nil, false
	}
	idText := strings.TrimPrefix(r.URL.Path, "/api/products/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != idText {
		return nil, false // the transcoder decides
	}
	forms := s.Cache.Local(catalog.ProductCacheKey(id))
	if forms == nil {
		return nil, false
	}
	if b, ok := forms[formREST]; ok {
		return b, true
	}
	return nil, false
}

var _ catalogv1connect.CatalogServiceHandler = (*CatalogServer)(nil)

// ListCategories implements CatalogService.
func (s *CatalogServer) ListCategories(ctx context.Context, req *connect.Request[catalogv1.ListCategoriesRequest]) (*connect.Response[catalogv1.ListCategoriesResponse], error) {
	out, err := cachedRPC(ctx, req, s.Cache, "categories", listTTL, newCategories, nil, s.loadCategories, cache.WithTags(catalog.ListingsCacheTag))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// categories is the category tree, cached; search facets take their labels from it too.
func (s *CatalogServer) categories(ctx context.Context) (*catalogv1.ListCategoriesResponse, error) {
	return cached(ctx, s.Cache, "categories", listTTL, newCategories, s.loadCategories, cache.WithTags(catalog.ListingsCacheTag))
}

func newCategories() *catalogv1.ListCategoriesResponse { return &catalogv1.ListCategoriesResponse{} }

func (s *CatalogServer) loadCategories(ctx context.Context) (*catalogv1.ListCategoriesResponse, error) {
	cats, err := s.Store.ListCategories(ctx)
	if err != nil {
		return nil, err
	}
	out := &catalogv1.ListCategoriesResponse{Categories: make([]*catalogv1.Category, 0, len(cats))}
	for _, c := range cats {
		out.Categories = append(out.Categories, categoryProto(c))
	}
	return out, nil
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
	key := fmt.Sprintf("products:%d:%d:%d:%q", f.Skip, f.Limit, f.CategoryID, f.Search)
	out, err := cachedRPC(ctx, req, s.Cache, key, listTTL, func() *catalogv1.ListProductsResponse { return &catalogv1.ListProductsResponse{} },
		restResponseField(catalogv1connect.CatalogServiceListProductsProcedure), func(ctx context.Context) (*catalogv1.ListProductsResponse, error) {
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
			return out, s.attachImages(ctx, out.Products...)
		}, cache.WithTags(catalog.ListingsCacheTag))
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetProduct implements CatalogService.
func (s *CatalogServer) GetProduct(ctx context.Context, req *connect.Request[catalogv1.GetProductRequest]) (*connect.Response[catalogv1.GetProductResponse], error) {
	id := req.Msg.GetProductId()
	out, err := cachedRPC(ctx, req, s.Cache, catalog.ProductCacheKey(id), productTTL, func() *catalogv1.GetProductResponse { return &catalogv1.GetProductResponse{} },
		getProductRESTField, func(ctx context.Context) (*catalogv1.GetProductResponse, error) {
			p, err := s.Store.GetProduct(ctx, id)
			if err != nil {
				return nil, err
			}
			out := &catalogv1.GetProductResponse{Product: productProto(p)}
			return out, s.attachImages(ctx, out.Product)
		})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
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
