package eval

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/shopkit/shop/recommender"
)

// Report is a whole offline evaluation: every algorithm on one split.
type Report struct {
	Split     Split
	TrainTime time.Duration
	TestUsers int
	Results   []Result
	Model     *recommender.Model
}

// Run splits, trains one model on the training share and evaluates every
// algorithm at k.
func Run(ins []recommender.Interaction, catalog []recommender.Item, split Split, k int, cfg recommender.Config) (*Report, error) {
	train, test := split.Apply(ins)
	start := time.Now()
	m, err := recommender.Train(train, catalog, cfg)
	if err != nil {
		return nil, err
	}
	rep := &Report{Split: split, TrainTime: time.Since(start), Model: m}
	users, relevant := TestSet(train, test)
	rep.TestUsers = len(users)
	for _, name := range recommender.Algorithms {
		if name == "buy_again" {
			continue // needs repeatable purchases, which ratings are not
		}
		rep.Results = append(rep.Results, Evaluate(name, ModelRanker(m, name), users, relevant, m.Data.NumItems(), k))
	}
	return rep, nil
}

// Result finds one algorithm's result.
func (r *Report) Result(name string) Result {
	for _, res := range r.Results {
		if res.Name == name {
			return res
		}
	}
	return Result{}
}

// Print writes the table of metrics, and the hybrid against each other algorithm.
func (r *Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	k := 0
	if len(r.Results) > 0 {
		k = r.Results[0].K
	}
	fmt.Fprintf(tw, "algorithm\tP@%d\tR@%d\tNDCG@%d\tcoverage\t\n", k, k, k)
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.3f\t\n", res.Name, res.Precision, res.Recall, res.NDCG, res.Coverage)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s split, %d test users, trained in %s; hybrid weights %v\n",
		r.Split, r.TestUsers, r.TrainTime.Round(time.Millisecond), r.Model.Hybrid.Weights)
	h := r.Result("hybrid")
	ndcg := func(u UserMetrics) float64 { return u.NDCG }
	for _, res := range r.Results {
		if res.Name == "hybrid" {
			continue
		}
		c := PairedBootstrap(Column(h.Users, ndcg), Column(res.Users, ndcg), 2000, 1)
		fmt.Fprintf(w, "hybrid vs %-8s NDCG@%d diff %+.4f  95%% CI [%+.4f, %+.4f]  p=%.4f\n", res.Name, k, c.MeanDiff, c.Low, c.High, c.P)
	}
	return nil
}

// RatingsConfig is DefaultConfig without time decay: a ratings log such as
// MovieLens spans decades, where a shop's half-lives would erase most of it.
func RatingsConfig() recommender.Config {
	cfg := recommender.DefaultConfig()
	cfg.Weighting.HalfLife, cfg.PopularHalfLife = 0, 0
	return cfg
}
