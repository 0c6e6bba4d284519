package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/recommender"
	"github.com/shopkit/shop/recommender/eval"
)

// runRecommender evaluates every recommendation algorithm offline on an
// interactions CSV (user,item,rating,timestamp; MovieLens ratings.csv works).
func runRecommender(_ context.Context, _ *config.Config, _ *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "evaluate" {
		return errors.New("usage: shop recommender evaluate --interactions FILE.csv [--items movies.csv] [--split user-temporal|global-temporal] [--k 10]")
	}
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
