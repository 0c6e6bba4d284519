package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/shopkit/shop/api"
	"github.com/shopkit/shop/internal/backinstock"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/inventory"
	"github.com/shopkit/shop/internal/metrics"
	"github.com/shopkit/shop/internal/metrics/probes"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/ratelimit"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/web"
	"github.com/shopkit/shop/workflows/checkout"
	fulfilmentwf "github.com/shopkit/shop/workflows/fulfilment"
	imageswf "github.com/shopkit/shop/workflows/images"
	"github.com/shopkit/shop/workflows/refund"
	returnswf "github.com/shopkit/shop/workflows/returns"
)

func runAPI(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	handler, closeAll, err := newAPIHandler(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeAll()
	servePprof(ctx, log, cfg.PprofAddr)
	if cfg.WebAddr == "" {
		return serve(ctx, log, cfg.HTTPAddr, handler, cfg.ShutdownTimeout)
	}
	bundle, built := web.Bundle()
	if !built {
		log.Warn("the web app is not built into this binary; run `make web` before `make build`", "addr", cfg.WebAddr)
	}
	app, err := api.WebApp(handler, bundle, api.WebConfig{
		StripePublishableKey: cfg.StripePublishableKey,
		TestPayments:         cfg.TestPayments(),
		TemporalUIURL:        cfg.TemporalUIURL,
		TemporalNamespace:    cfg.TemporalNamespace,
	})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve(gctx, log, cfg.HTTPAddr, handler, cfg.ShutdownTimeout) })
	g.Go(func() error { return serve(gctx, log, cfg.WebAddr, app, cfg.ShutdownTimeout) })
	return g.Wait()
}

// newAPIHandler builds the whole API (`shop api` and `shop recommender`
// serve the same one), with the recommendation model kept live in memory
// until ctx ends; closeAll releases its connections.
func newAPIHandler(ctx context.Context, cfg *config.Config, log *slog.Logger) (handler http.Handler, closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	pool, err := db.Open(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, pool.Close)
	reads, err := db.NewPools(pool, db.ReplicaOptions{URL: cfg.DatabaseReadURL, MaxConns: cfg.DatabaseReadMaxConns,
		MaxLag: cfg.DatabaseReadMaxLag, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, reads.Close)
	if reads.HasReplica() {
		closers = append(closers, probes.DBPool("replica", reads.Replica()))
	}
	rdb, err := openRedis(cfg)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { _ = rdb.Close() })
	storefront := cache.New(rdb, cache.Prefix, log)
	if cfg.CacheLocalMaxMB > 0 {
		// Encoded responses in memory too; the worker's invalidations reach it over pub/sub.
		closers = append(closers, storefront.StartLocal(cache.LocalConfig{
			MaxBytes: int64(cfg.CacheLocalMaxMB) << 20, TTL: cfg.CacheLocalTTL}))
	}
	closers = append(closers, probes.DBPool("main", pool), probes.Redis("main", rdb),
		probes.Cache("storefront", storefront))
	// /metrics on this port, or on an internal address of its own.
	var metricsHandler http.Handler = metrics.Handler()
	if cfg.MetricsAddr != "" {
		metricsHandler = nil
		serveMetrics(ctx, log, cfg.MetricsAddr)
	}
	tc, err := temporalclient.Lazy(temporalclient.Options{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, tc.Close)
	models := modelstore.NewWatcher(pool, log)
	models.Poll = cfg.RecommenderReloadPoll
	if err := models.Refresh(ctx); err != nil {
		log.Warn("recommendation model not loaded yet", "error", err)
	}
	go func() { _ = models.Run(ctx) }()

	limits, err := ratelimit.ParseLimits(cfg.RateLimits)
	if err != nil {
		return nil, nil, fmt.Errorf("RATE_LIMITS: %w", err)
	}
	tokens, err := newTokens(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	lockout := ratelimit.NewLockout(rdb, "shop:lockout:", ratelimit.LockoutPolicy{})
	ids := identity.NewService(pool, tokens, lockout, cfg.RefreshTokenTTL, log)

	ready := map[string]api.Check{
		"postgres": pool.Ping,
		"redis":    func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		"temporal": func(ctx context.Context) error { _, err := tc.CheckHealth(ctx, nil); return err },
	}
	// The replica takes the stale-tolerant reads of read-only requests (and
	// stays out of readiness: without it reads go to the primary).
	pgSearch := search.NewPostgres(pool)
	pgSearch.ReadFrom(reads)
	var backend search.Backend = pgSearch
	if cfg.SearchBackend == "elasticsearch" {
		es, err := search.NewElastic(cfg.ElasticsearchURL, cfg.SearchAlias)
		if err != nil {
			return nil, nil, err
		}
		if err := es.EnsureIndex(ctx); err != nil {
			log.Warn("search index not ready yet; searches fail until Elasticsearch answers", "error", err)
		}
		backend = es
		ready["elasticsearch"] = func(ctx context.Context) error { _, err := es.Count(ctx, ""); return err }
	}

	couponStore := coupons.NewStore(pool)
	carts := cart.NewStore(pool, couponStore)
	shipments := fulfilment.NewStore(pool)
	fulfilClient := &fulfilmentwf.Client{Temporal: tc, Store: shipments}
	returnStore := returns.NewStore(pool, returnPolicy(cfg))
	catalogStore := catalog.NewStore(pool)
	catalogStore.ReadFrom(reads)
	orderStore := newOrderStore(pool, couponStore, carts, cfg)
	analyticsStore := analyticsStoreOf(pool, cfg)
	analyticsStore.ReadFrom(reads)
	imageObjects, err := openImageStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if cfg.ImageStore == "s3" {
		ready["images"] = imageObjects.Ping // a network dependency, like the others
	}
	handler, err = api.NewHandler(api.Deps{
		Logger:             log,
		Catalog:            catalogStore,
		Search:             backend,
		Cache:              storefront,
		Identity:           ids,
		Limiter:            ratelimit.NewLimiter(rdb, "shop:rl:"),
		Limits:             limits,
		CORSOrigins:        cfg.CORSOrigins,
		TrustProxyHeaders:  cfg.TrustProxyHeaders,
		Ready:              ready,
		Cart:               carts,
		Coupons:            couponStore,
		BackInStock:        backinstock.NewStore(pool),
		CartReminderSecret: cfg.CartReminderSecret,
		Shipping:           cfg.ShippingMethods,
		TaxRates:           cfg.TaxRates,
		DefaultCountry:     cfg.DefaultCountry,
		Orders:             orderStore,
		OrderFlows: api.Workflows{
			CheckoutFlows: &checkout.Client{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue, PaymentTimeout: cfg.PaymentTimeout},
			RefundFlows:   &refund.Client{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue},
		},
		PaymentIntents:      payments.NewStripe(cfg.StripeSecretKey, cfg.StripeAPIBase, nil),
		StripeEvents:        payments.NewEvents(pool),
		StripeWebhookSecret: cfg.StripeWebhookSecret,
		Inventory:           inventory.NewStore(pool),

		CarrierWebhookSecret: cfg.CarrierWebhookSecret,
		Shipments:            fulfilClient,
		Fulfilment:           shipments,
		FulfilmentFlows:      fulfilClient,

		Returns:     returnStore,
		ReturnFlows: &returnswf.Client{Temporal: tc, Store: returnStore, TaskQueue: cfg.TemporalTaskQueue},
		Events:      events.NewStore(pool),
		Analytics:   analyticsStore,
		Reads:       reads,
		WriteMarks:  db.NewWriteMarks(rdb, "shop:ryw:", db.MarkTTL(cfg.DatabaseReadMaxLag)),

		Recommendations:          models,
		RecommenderInternalToken: cfg.RecommenderInternalToken,
		Metrics:                  metricsHandler,
		Images: api.Images{Store: images.NewStore(pool), Objects: imageObjects, Limits: imageLimits(cfg),
			Flows: imageswf.Client{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue}},
	})
	if err != nil {
		return nil, nil, err
	}
	return handler, closeAll, nil
}

func newOrderStore(pool *pgxpool.Pool, cs *coupons.Store, carts *cart.Store, cfg *config.Config) *orders.Store {
	return orders.NewStore(pool, cs, carts, orders.Settings{
		ShippingMethods: cfg.ShippingMethods, TaxRates: cfg.TaxRates, DefaultCountry: cfg.DefaultCountry,
	})
}

// newTokens builds the access-token issuer. Without configured keys (never
// in production) it makes a random key that lives as long as the process.
func newTokens(cfg *config.Config, log *slog.Logger) (*identity.Tokens, error) {
	keys, active := cfg.JWTKeys, cfg.JWTActiveKey
	if len(keys) == 0 {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		keys, active = map[string][]byte{"ephemeral": key}, "ephemeral"
		log.Warn("JWT_SIGNING_KEYS is not set: using a random key; sessions end when this process stops")
	}
	return identity.NewTokens(identity.TokenConfig{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, TTL: cfg.AccessTokenTTL, Keys: keys, ActiveKey: active,
	})
}

// serve runs an HTTP/1.1 + cleartext HTTP/2 server (gRPC needs h2c) until ctx
// ends, then drains in-flight requests for up to grace.
func serve(ctx context.Context, log *slog.Logger, addr string, h http.Handler, grace time.Duration) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Addr:              addr,
		Handler:           h,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies are at most 1 MiB: a client that trickles one (or never
		// finishes it) does not hold a connection and a handler for long.
		ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("listening", "addr", addr)
	select {
	case err := <-errc:
		return fmt.Errorf("listen %s: %w", addr, err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
