// The race detector makes this full training run take minutes; `make test`
// runs it on its own without -race (the unit tests cover the concurrency).

//go:build !race

package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMovieLens evaluates every algorithm on MovieLens ml-latest-small
// (fetch it with deploy/movielens.sh, or point MOVIELENS_RATINGS at a
// ratings.csv); movies.csv next to it feeds the content scorer.
func TestMovieLens(t *testing.T) {
	path := os.Getenv("MOVIELENS_RATINGS")
	if path == "" {
		path = "../../.data/movielens/ratings.csv"
	}
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("MovieLens ratings not found at %s (run deploy/movielens.sh or set MOVIELENS_RATINGS): %v", path, err)
	}
	defer f.Close()
	ins, err := ReadInteractions(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(filepath.Join(filepath.Dir(path), "movies.csv"))
	if err != nil {
		t.Skipf("movies.csv missing next to ratings.csv (the content scorer needs it): %v", err)
	}
	defer g.Close()
	catalog, err := ReadMovies(g)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rep, err := Run(ins, catalog, UserTemporal, 10, RatingsConfig())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Print(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("ml-latest-small, %d ratings, %s:\n%s", len(ins), time.Since(start).Round(time.Millisecond), b.String())
	floors := map[string][2]float64{ // NDCG@10 range
		"popular": {0.07, 0.095},
		"itemknn": {0.115, 1},
		"als":     {0.11, 1},
		"ease":    {0.12, 1},
		"hybrid":  {0.15, 1},
	}
	for name, r := range floors {
		if got := rep.Result(name).NDCG; got < r[0] || got > r[1] {
			t.Errorf("%s NDCG@10 %.4f, want in [%v, %v]", name, got, r[0], r[1])
		}
	}
	if rep.Result("itemknn").NDCG <= rep.Result("popular").NDCG {
		t.Error("itemknn does not beat popular")
	}
	// The hybrid beats every single algorithm by more than noise: the 95 %
	// interval of the paired per-user NDCG difference lies above 0.
	h := rep.Result("hybrid")
	ndcg := func(u UserMetrics) float64 { return u.NDCG }
	for _, res := range rep.Results {
		if res.Name == "hybrid" {
			continue
		}
		if c := PairedBootstrap(Column(h.Users, ndcg), Column(res.Users, ndcg), 2000, 1); c.Low <= 0 {
			t.Errorf("hybrid vs %s: NDCG@10 diff %+.4f, 95%% CI [%+.4f, %+.4f] reaches 0", res.Name, c.MeanDiff, c.Low, c.High)
		}
	}
}
