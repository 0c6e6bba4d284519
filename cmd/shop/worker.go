package main

import (
	"context"
	"log/slog"

	fulfilmentact "github.com/shopkit/shop/activities/fulfilment"
	"github.com/shopkit/shop/internal/carrier"
	fulfilmentstore "github.com/shopkit/shop/internal/fulfilment"

	"github.com/shopkit/shop/internal/analytics"
	"github.com/shopkit/shop/internal/backinstock"
	"github.com/shopkit/shop/internal/cache"
	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/catalog"
	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/coupons"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/events"
	"github.com/shopkit/shop/internal/images"
	"github.com/shopkit/shop/internal/lowstock"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/metrics/probes"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/internal/search"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/workers"
	analyticswf "github.com/shopkit/shop/workflows/analytics"
	"github.com/shopkit/shop/workflows/cartreminder"
	"github.com/shopkit/shop/workflows/email"
	"github.com/shopkit/shop/workflows/eventstore"
	"github.com/shopkit/shop/workflows/fulfilment"
	"github.com/shopkit/shop/workflows/retrain"
)

func runWorker(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	pool, err := db.Open(ctx, cfg.DatabaseURL, cfg.DatabaseMaxConns)
	if err != nil {
		return err
	}
	defer pool.Close()
	tc, err := temporalclient.Dial(temporalclient.Options{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: log})
	if err != nil {
		return err
	}
	defer tc.Close()

	es, err := search.NewElastic(cfg.ElasticsearchURL, cfg.SearchAlias)
	if err != nil {
		return err
	}
	sender, err := mail.NewSender(mail.Config{Addr: cfg.SMTPAddr, From: cfg.MailFrom, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword})
	if err != nil {
		return err
	}
	rdb, err := openRedis(cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	// /metrics: the Temporal SDK's, activity outcomes, pools, the outbox
	// backlog, refunds needing attention, checkouts waiting for payment.
	defer probes.DBPool("main", pool)()
	defer probes.Redis("main", rdb)()
	defer probes.Ops(pool)()
	if cfg.WorkerMetricsAddr != "" {
		serveMetrics(ctx, log, cfg.WorkerMetricsAddr)
	}
	servePprof(ctx, log, cfg.WorkerPprofAddr)
	// The outbox relay applies every committed catalog change to the cache
	// and the search index, starts the back-in-stock emails, resets the
	// abandoned-cart reminders and stores the order facts in the behaviour
	// event store.
	eventStore := events.NewStore(pool)
	analyticsStore := analyticsStoreOf(pool, cfg)
	var index outbox.Consumer = outbox.Discard(search.ConsumerName)
	if cfg.SearchBackend == "elasticsearch" {
		index = search.IndexConsumer{Pool: pool, Elastic: es}
	}
	relay := &outbox.Relay{Pool: pool, Log: log, Consumers: []outbox.Consumer{
		catalog.CacheConsumer{Cache: cache.New(rdb, cache.Prefix, log)}, index,
		backinstock.Consumer{Pool: pool, ShopURL: cfg.ShopURL,
			Mail: &email.Client{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue}},
		&cartreminder.Client{Temporal: tc, Pool: pool, TaskQueue: cfg.TemporalTaskQueue, Schedule: cfg.CartReminderAfter},
		&fulfilment.StatusFollower{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue},
		events.OrderFacts{Store: eventStore}, analytics.Rerolls{Store: analyticsStore}}}
	if cfg.LowStockThreshold > 0 {
		relay.Consumers = append(relay.Consumers, lowstock.Consumer{Pool: pool, Threshold: cfg.LowStockThreshold,
			StaffTo: cfg.StaffEmail, ShopURL: cfg.ShopURL, Mail: &email.Client{Temporal: tc, TaskQueue: cfg.TemporalTaskQueue}})
	} else {
		relay.Consumers = append(relay.Consumers, outbox.Discard(lowstock.ConsumerName))
	}
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(relayCtx) }()
	defer func() { stopRelay(); <-relayDone }()

	couponStore := coupons.NewStore(pool)
	carts := cart.NewStore(pool, couponStore)
	imageObjects, err := openImageStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	w := workers.New(tc, cfg.TemporalTaskQueue, workers.Deps{
		Catalog: catalog.NewStore(pool), Pool: pool, Elastic: es, SearchAlias: cfg.SearchAlias,
		Orders: newOrderStore(pool, couponStore, carts, cfg),
		Stripe: payments.NewStripe(cfg.StripeSecretKey, cfg.StripeAPIBase, nil),
		Mail:   sender,
		Carts:  carts, ShopURL: cfg.ShopURL, CartReminderSecret: cfg.CartReminderSecret,
		Fulfilment: fulfilmentstore.NewStore(pool),
		Carriers:   carrier.NewCarriers(carrier.Manual{TrackingURL: cfg.CarrierTrackingURL}),
		StaffEmail: cfg.StaffEmail,
		Deadlines: fulfilmentact.Deadlines{Pack: cfg.FulfilPackWithin, FirstScan: cfg.FulfilFirstScanWithin,
			Delivery: cfg.FulfilDeliverWithin, Lost: cfg.FulfilLostAfter, Aftercare: cfg.ReturnWindow},
		Returns: returns.NewStore(pool, returnPolicy(cfg)),
		Events:  eventStore, Analytics: analyticsStore,
		Images: images.NewStore(pool), ImageObjects: imageObjects, ImageLimits: imageLimits(cfg),
	})
	// The event store's partitions are kept by a daily Temporal Schedule.
	if _, err := eventstore.EnsureSchedule(ctx, tc, eventstore.ScheduleID, cfg.TemporalTaskQueue,
		eventstore.Input{Retention: cfg.EventRetention}); err != nil {
		return err
	}
	// Closed hours of sales analytics are rolled up by a nightly Schedule.
	if _, err := analyticswf.EnsureSchedule(ctx, tc, analyticswf.ScheduleID, cfg.TemporalTaskQueue,
		analyticswf.RollupInput{CloseAfter: cfg.AnalyticsCloseAfter}); err != nil {
		return err
	}
	// So is the recommender's nightly retraining, on its own task queue.
	in, err := retrainInput(cfg)
	if err != nil {
		return err
	}
	if _, err := retrain.EnsureSchedule(ctx, tc, retrain.ScheduleID, cfg.RecommenderRetrainTaskQueue,
		cfg.RecommenderRetrainAt[0], cfg.RecommenderRetrainAt[1], in); err != nil {
		return err
	}
	rw := workers.NewRetrain(tc, cfg.RecommenderRetrainTaskQueue, pool)
	log.Info("worker polling", "task_queue", cfg.TemporalTaskQueue, "retrain_task_queue", cfg.RecommenderRetrainTaskQueue, "namespace", cfg.TemporalNamespace)
	// Run returns after ctx ends and both workers' in-flight activities
	// have drained (at once, within one workers.StopTimeout); the relay,
	// whose context ended with ctx, stops meanwhile (what it leaves is
	// delivered by the next relay), then the clients close.
	return workers.Run(ctx, w, rw)
}

// returnPolicy is the shop's return rules from the configuration.
func returnPolicy(cfg *config.Config) returns.Policy {
	return returns.Policy{Window: cfg.ReturnWindow, RestockingFeePercent: int64(cfg.ReturnRestockingFeePercent),
		RefundShipping: cfg.ReturnRefundShipping, ExpireAfter: cfg.ReturnExpireAfter}
}
