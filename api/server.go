// Package api serves the platform's Connect, gRPC, gRPC-Web and REST API on
// one port. Handlers are thin adapters over internal/*; this package alone
// maps domain errors to RPC codes.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/otelconnect"
	"connectrpc.com/vanguard"

	"github.com/shopkit/shop/gen/shop/analytics/v1/analyticsv1connect"
	"github.com/shopkit/shop/gen/shop/auth/v1/authv1connect"
	"github.com/shopkit/shop/gen/shop/cart/v1/cartv1connect"
	"github.com/shopkit/shop/gen/shop/catalog/v1/catalogv1connect"
	"github.com/shopkit/shop/gen/shop/events/v1/eventsv1connect"
	"github.com/shopkit/shop/gen/shop/fulfilment/v1/fulfilmentv1connect"
	"github.com/shopkit/shop/gen/shop/inventory/v1/inventoryv1connect"
	"github.com/shopkit/shop/gen/shop/order/v1/orderv1connect"
	"github.com/shopkit/shop/gen/shop/recommendation/v1/recommendationv1connect"
	"github.com/shopkit/shop/gen/shop/returns/v1/returnsv1connect"
	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/backinstock"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/pricing"
	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/telemetry"
)

// Deps are what the handlers need.
type Deps struct {
	Logger  *slog.Logger
	Catalog *catalog.Store
	// Search answers SearchProducts and SuggestProducts.
	Search search.Backend
	// Cache holds storefront reads; nil disables caching.
	Cache    *cache.Cache
	Identity *identity.Service
	// Limiter and Limits rate-limit calls; a nil Limiter disables limits.
	Limiter RateLimiter
	Limits  map[string]ratelimit.Limit
	// CORSOrigins may call the API from a browser.
	CORSOrigins []string
	// TrustProxyHeaders takes the client IP from X-Forwarded-For.
	TrustProxyHeaders bool
	// Ready lists the dependencies /readyz probes.
	Ready map[string]Check
	// Cart and Coupons serve CartService, which prices carts with Shipping
	// and TaxRates; DefaultCountry is taxed when the shopper names none.
	Cart    *cart.Store
	Coupons *coupons.Store
	// BackInStock keeps notify-me subscriptions; CartReminderSecret checks
	// the unsubscribe links of cart reminders.
	BackInStock        *backinstock.Store
	CartReminderSecret string
	Shipping           pricing.ShippingMethods
	TaxRates           pricing.TaxRates
	DefaultCountry     string
	// Orders and OrderFlows serve OrderService; the Stripe webhook records
	// events in StripeEvents after checking them with StripeWebhookSecret.
	Orders     *orders.Store
	OrderFlows OrderFlows
	// PaymentIntents gives the shopper the client secret to pay with.
	PaymentIntents      PaymentIntents
	StripeEvents        *payments.Events
	StripeWebhookSecret string
	// Inventory serves InventoryService (stock locations).
	Inventory *inventory.Store
	// Shipments takes the scans the carrier webhook checks with
	// CarrierWebhookSecret; without both the webhook answers 503.
	Shipments            ShipmentScanner
	CarrierWebhookSecret string
	// Fulfilment answers FulfilmentService's reads and the parcels of
	// GetOrder (none when nil); FulfilmentFlows runs its steps.
	Fulfilment      *fulfilment.Store
	FulfilmentFlows FulfilmentFlows
	// Returns answers ReturnService's reads; ReturnFlows records requests
	// and runs the staff steps (the service answers Unimplemented without).
	Returns     *returns.Store
	ReturnFlows ReturnFlows
	// Events keeps the storefront's behaviour events (EventService
	// answers Unimplemented without).
	Events *events.Store
	// Recommendations hands out the live recommendation model
	// (RecommendationService answers Unimplemented without); a caller
	// sending RecommenderInternalToken in X-Internal-Token may ask for any
	// shopper's recommendations.
	Recommendations          Models
	RecommenderInternalToken string
	// Metrics, when set, is served at GET /metrics (leave it nil when the
	// metrics are served on an internal address of their own).
	Metrics http.Handler
	// Analytics answers AnalyticsService (Unimplemented without).
	Analytics *analytics.Store
	// Reads, when it has a replica, lets the read-only RPCs read from it;
	// WriteMarks (required then) keep read-your-writes for signed-in callers.
	Reads      *db.Pools
	WriteMarks *db.WriteMarks
	// Images keeps product images (upload, RPCs, GET /images/...); the
	// zero value switches them off.
	Images Images
}

// compressMinBytes is the smallest response body Connect and gRPC compress.
const compressMinBytes = 4 << 10

// serviceNames are the services NewHandler serves.
var serviceNames = []string{catalogv1connect.CatalogServiceName, authv1connect.AuthServiceName,
	cartv1connect.CartServiceName, orderv1connect.OrderServiceName, inventoryv1connect.InventoryServiceName,
	fulfilmentv1connect.FulfilmentServiceName, returnsv1connect.ReturnServiceName, eventsv1connect.EventServiceName,
	recommendationv1connect.RecommendationServiceName, analyticsv1connect.AnalyticsServiceName}

// codecOptions serves with codecs.
func codecOptions() connect.HandlerOption {
	opts := make([]connect.HandlerOption, 0, len(codecs))
	for _, c := range codecs {
		opts = append(opts, connect.WithCodec(c))
	}
	return connect.WithHandlerOptions(opts...)
}

// NewHandler returns the HTTP handler for every API route.
func NewHandler(d Deps) (http.Handler, error) {
	g := &gate{auth: d.Identity, limiter: d.Limiter, limits: d.Limits, trustProxy: d.TrustProxyHeaders, log: d.Logger}
	if d.Reads != nil && d.Reads.HasReplica() && d.WriteMarks == nil {
		return nil, errors.New("api: a read replica needs WriteMarks (read-your-writes)")
	}
	rules, err := validationInterceptor(serviceNames)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	// Metrics and spans per RPC, outermost: they see the code the caller gets.
	tracing, err := otelconnect.NewInterceptor(otelconnect.WithoutMetrics(), otelconnect.WithTrustRemote())
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	opts := connect.WithHandlerOptions(
		// Errors are mapped outermost, so the gate's own errors pass through as
		// they are. The text rule comes after the gate: a caller who may not
		// call the RPC hears that first, and a bad request still counts
		// against the rate limit. The schema's field rules come last, so they
		// see the text trimmed. Read routing needs the caller the gate found.
		connect.WithInterceptors(metrics.RPCInterceptor(), tracing, errorInterceptor(d.Logger), g.interceptor(),
			readRouting(d.Reads, d.WriteMarks, d.Logger), textInterceptor(), rules),
		codecOptions(),
		connect.WithReadMaxBytes(maxBodyBytes),
		// Gzip costs more CPU than it saves on a product page or a small
		// answer; listings and other large answers are still compressed.
		connect.WithCompressMinBytes(compressMinBytes),
	)
	type svc struct {
		name    string
		path    string
		handler http.Handler
	}
	var services []svc
	add := func(name string, path string, h http.Handler) { services = append(services, svc{name, path, h}) }

	catalogServer := &CatalogServer{Store: d.Catalog, Search: d.Search, Cache: d.Cache, Images: d.Images}
	path, h := catalogv1connect.NewCatalogServiceHandler(catalogServer, opts)
	add(catalogv1connect.CatalogServiceName, path, &localConnect{next: h, gate: g, catalog: catalogServer})
	path, h = authv1connect.NewAuthServiceHandler(&AuthServer{Identity: d.Identity}, opts)
	add(authv1connect.AuthServiceName, path, h)
	path, h = cartv1connect.NewCartServiceHandler(&CartServer{Cart: d.Cart, Coupons: d.Coupons,
		Config:      cart.Config{Shipping: d.Shipping, TaxRates: d.TaxRates, DefaultCountry: d.DefaultCountry},
		BackInStock: d.BackInStock, ReminderSecret: d.CartReminderSecret}, opts)
	add(cartv1connect.CartServiceName, path, h)

	path, h = orderv1connect.NewOrderServiceHandler(&OrderServer{Orders: d.Orders, Flows: d.OrderFlows, Identity: d.Identity,
		Payments: d.PaymentIntents, Shipments: d.Fulfilment}, opts)
	add(orderv1connect.OrderServiceName, path, h)
	path, h = inventoryv1connect.NewInventoryServiceHandler(&InventoryServer{Store: d.Inventory}, opts)
	add(inventoryv1connect.InventoryServiceName, path, h)
	path, h = fulfilmentv1connect.NewFulfilmentServiceHandler(&FulfilmentServer{Store: d.Fulfilment, Flows: d.FulfilmentFlows}, opts)
	add(fulfilmentv1connect.FulfilmentServiceName, path, h)
	path, h = returnsv1connect.NewReturnServiceHandler(&ReturnServer{Store: d.Returns, Flows: d.ReturnFlows, Orders: d.Orders}, opts)
	add(returnsv1connect.ReturnServiceName, path, h)
	path, h = eventsv1connect.NewEventServiceHandler(&EventServer{Store: d.Events}, opts)
	add(eventsv1connect.EventServiceName, path, h)
	path, h = recommendationv1connect.NewRecommendationServiceHandler(&RecommendationServer{Models: d.Recommendations,
		Catalog: d.Catalog, InternalToken: d.RecommenderInternalToken}, opts)
	add(recommendationv1connect.RecommendationServiceName, path, h)
	path, h = analyticsv1connect.NewAnalyticsServiceHandler(&AnalyticsServer{Store: d.Analytics}, opts)
	add(analyticsv1connect.AnalyticsServiceName, path, h)

	// Connect handlers speak Connect, gRPC and gRPC-Web on their own paths;
	// vanguard transcodes the google.api.http REST routes onto them.
	mux := http.NewServeMux()
	var vsvcs []*vanguard.Service
	names := make([]string, 0, len(services))
	for _, s := range services {
		mux.Handle(s.path, s.handler)
		vsvcs = append(vsvcs, vanguard.NewService(s.path, s.handler))
		names = append(names, s.name)
	}
	transcoder, err := vanguard.NewTranscoder(vsvcs,
		vanguard.WithCodec(restCodec),
		vanguard.WithUnknownHandler(http.HandlerFunc(notFound)),
		// Browsers and analytics add query parameters of their own.
		vanguard.WithDefaultServiceOptions(vanguard.WithRESTUnmarshalOptions(
			vanguard.RESTUnmarshalOptions{DiscardUnknownQueryParams: true})))
	if err != nil {
		return nil, fmt.Errorf("api: transcoder: %w", err)
	}
	routes, err := restRoutes(names)
	if err != nil {
		return nil, fmt.Errorf("api: REST routes: %w", err)
	}
	guard := &restGuard{routes: routes, gate: g, next: transcoder, local: catalogServer.localREST}
	mux.Handle("/", guard)
	// The original API's troubleshooting guide logs in without the /api prefix.
	mux.Handle("/auth/login", restAlias("/api/auth/login", guard))
	// Sales analytics answer CSV too (Accept: text/csv or "format": "csv").
	mux.Handle("POST /analytics", csvExport(guard))
	mux.Handle("POST /api/analytics", csvExport(guard))
	mux.Handle(grpchealth.NewHandler(grpchealth.NewStaticChecker(names...)))
	reflector := grpcreflect.NewStaticReflector(names...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle("POST /webhooks/stripe", &stripeWebhook{secret: d.StripeWebhookSecret, events: d.StripeEvents,
		orders: d.Orders, flows: d.OrderFlows, log: d.Logger})
	mux.Handle("POST /webhooks/carrier", &carrierWebhook{secret: d.CarrierWebhookSecret, shipments: d.Shipments, log: d.Logger})
	mux.Handle(uploadRoute, &imageUpload{gate: g, catalog: catalogServer, log: d.Logger})
	mux.Handle("GET "+ImagePath+"{name}", serveImage(d.Images.Objects, d.Logger))
	mux.HandleFunc("GET /healthz", liveHandler)
	if err := handleDocs(mux); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	mux.Handle("GET /readyz", readyHandler(d.Ready))
	if d.Metrics != nil {
		mux.Handle("GET /metrics", d.Metrics)
	}
	return telemetry.HTTPHandler(withRequestContext(d.Logger, withSecurityHeaders(withCORS(d.CORSOrigins, metrics.HTTP(mux)))), "api"), nil
}
