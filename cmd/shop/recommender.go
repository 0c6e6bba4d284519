package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	retrainact "github.com/shopkit/shop/activities/retrain"
	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/eval"
	"github.com/shopkit/shop/recommender/modelstore"
	"github.com/shopkit/shop/recommender/signals"
	"github.com/shopkit/shop/workflows/retrain"
)

const recommenderUsage = `usage: shop recommender [serve | retrain | train | rollback VERSION | unpin | evaluate ...]
  serve (default)    serve the API, recommendations included, on RECOMMENDER_ADDR (:8001)
  retrain            run the RetrainRecommender workflow now (needs a worker): publish only a better model
  train              train on the shop's orders, views and catalog; save and publish the model unconditionally
  rollback VERSION   make an earlier model live again, pinned: retraining leaves it alone
  unpin              let retraining replace the live model again
  evaluate --interactions FILE.csv [--items movies.csv] [--split user-temporal|global-temporal] [--k 10]`

// runRecommender serves recommendations, trains and publishes models, rolls
// back, or evaluates the algorithms offline on a CSV.
func runRecommender(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	switch {
	case len(args) == 0 || args[0] == "serve":
		handler, closeAll, err := newAPIHandler(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer closeAll()
		return serve(ctx, log, cfg.RecommenderAddr, handler, cfg.ShutdownTimeout)
	case args[0] == "retrain" && len(args) == 1:
		return retrainRecommender(ctx, cfg, log)
	case args[0] == "train":
		return trainRecommender(ctx, cfg)
	case args[0] == "rollback" && len(args) == 2:
		pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := modelstore.New(pool).Rollback(ctx, args[1]); err != nil {
			return err
		}
		fmt.Printf("model %s is live and pinned: retraining leaves it alone until `shop recommender unpin`\n", args[1])
		return nil
	case args[0] == "unpin" && len(args) == 1:
		pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := modelstore.New(pool).Unpin(ctx); err != nil {
			return err
		}
		fmt.Println("retraining may replace the live model again")
		return nil
	case args[0] == "evaluate":
		return evaluateRecommender(args)
	}
	return errors.New(recommenderUsage)
}

// trainRecommender snapshots the signals, trains every algorithm, saves the
// model and publishes it; serving processes pick it up at once.
func trainRecommender(ctx context.Context, cfg *config.Config) error {
	pool, err := db.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	snap, err := signals.Read(ctx, pool)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := recommender.Train(snap.Interactions, snap.Items, recommender.DefaultConfig())
	if err != nil {
		return err
	}
	var report strings.Builder
	fmt.Fprintf(&report, "signals: %d purchases, %d views, %d cart adds; catalog: %d active products\n",
		snap.Purchases, snap.Views, snap.Carts, len(snap.Items))
	fmt.Fprintf(&report, "model: %d users, %d items, %d interactions, trained in %s\n",
		m.Version.Users, m.Version.Items, m.Version.Interactions, time.Since(start).Round(time.Millisecond))
	names := slices.Sorted(maps.Keys(m.Version.Metrics))
	for _, name := range names {
		fmt.Fprintf(&report, "validation NDCG@10 %-10s %.4f\n", name, m.Version.Metrics[name])
	}
	store := modelstore.New(pool)
	version, err := store.Save(ctx, m, report.String())
	if err != nil {
		return err
	}
	if err := store.Publish(ctx, version); err != nil {
		return err
	}
	fmt.Print(report.String())
	fmt.Printf("model %s is live\n", version)
	return nil
}

// retrainInput is the scheduled and manual retraining's input; it refuses
// an unknown, duplicate or empty training preset.
func retrainInput(cfg *config.Config) (retrain.Input, error) {
	in := retrain.Input{}
	for _, name := range cfg.RecommenderRetrainCandidates {
		in.Candidates = append(in.Candidates, retrainact.Candidate{Name: name})
	}
	if err := retrainact.CheckCandidates(in.Candidates); err != nil {
		return in, fmt.Errorf("RECOMMENDER_RETRAIN_CANDIDATES: %w", err)
	}
	return in, nil
}

// retrainRecommender runs the RetrainRecommender workflow (or joins the
// one running), prints each stage as it is reached, then the report.
func retrainRecommender(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	in, err := retrainInput(cfg)
	if err != nil {
		return err
	}
	tc, err := temporalclient.Dial(temporalclient.Options{Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, Logger: log})
	if err != nil {
		return err
	}
	defer tc.Close()
	run, err := retrain.Start(ctx, tc, retrain.ManualID, cfg.RecommenderRetrainTaskQueue, in)
	if err != nil {
		return err
	}
	fmt.Printf("workflow %s (run %s): follow it in the Temporal UI, or here\n", run.GetID(), run.GetRunID())
	done := make(chan error, 1)
	var res retrain.Progress
	go func() { done <- run.Get(ctx, &res) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	stage := ""
	for {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			fmt.Print(res.Report())
			return nil
		case <-tick.C:
			if p, err := retrain.QueryProgress(ctx, tc, run.GetID(), run.GetRunID()); err == nil && p.Stage != stage {
				stage = p.Stage
				fmt.Printf("stage: %s\n", stage)
			}
		}
	}
}

// evaluateRecommender evaluates every recommendation algorithm offline on an
// interactions CSV (user,item,rating,timestamp; MovieLens ratings.csv works).
func evaluateRecommender(args []string) error {
	fs := flag.NewFlagSet("recommender evaluate", flag.ContinueOnError)
	path := fs.String("interactions", "", "CSV of user,item,rating,timestamp (header optional)")
	items := fs.String("items", "", "optional MovieLens movies.csv (id,title,genres) for the content scorer")
	split := fs.String("split", string(eval.UserTemporal), "user-temporal or global-temporal")
	k := fs.Int("k", 10, "cut-off of the metrics")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *path == "" || (*split != string(eval.UserTemporal) && *split != string(eval.GlobalTemporal)) || *k <= 0 {
		fs.Usage()
		return errors.New("recommender evaluate: --interactions is required; --split is user-temporal or global-temporal")
	}
	f, err := os.Open(*path)
	if err != nil {
		return err
	}
	defer f.Close()
	ins, err := eval.ReadInteractions(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *path, err)
	}
	var catalog []recommender.Item
	if *items != "" {
		g, err := os.Open(*items)
		if err != nil {
			return err
		}
		defer g.Close()
		if catalog, err = eval.ReadMovies(g); err != nil {
			return fmt.Errorf("%s: %w", *items, err)
		}
	}
	rep, err := eval.Run(ins, catalog, eval.Split(*split), *k, eval.RatingsConfig())
	if err != nil {
		return err
	}
	return rep.Print(os.Stdout)
}
