package recommender

import (
	"math"
	"slices"
	"testing"
)

// reference ranks the way Recommend did before it ranked candidates only:
// the scorer fills a catalog-sized array, owned and excluded items get
// -Inf, and the whole array is ranked.
func reference(m *Model, req Request, s Scorer) []int64 {
	q := m.query(&req)
	scores := make([]float64, m.Data.NumItems())
	s.Score(q, scores)
	for _, e := range q.History {
		scores[e.Item] = math.Inf(-1)
	}
	for _, id := range req.Exclude {
		if i, ok := m.Data.ItemIndex(id); ok {
			scores[i] = math.Inf(-1)
		}
	}
	var keep func(int) bool
	if len(req.Categories) > 0 {
		keep = func(i int) bool { return slices.Contains(req.Categories, m.Data.Items[i].CategoryID) }
	}
	var ids []int64
	for _, i := range m.selectTop(scores, req.K, req.PerCategoryCap, keep) {
		ids = append(ids, m.Data.ItemIDs[i])
	}
	return ids
}

func TestCandidateRankingEqualsFullRanking(t *testing.T) {
	ins, catalog := synthetic(1500, 20, 5000)
	cfg := DefaultConfig()
	cfg.ALS.Iterations, cfg.ValidationUsers = 3, 200
	m, err := Train(ins, catalog, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 200 {
		u := m.Data.UserIDs[(n*37)%m.Data.NumUsers()]
		req := Request{UserID: u, K: 10 + n%7, PerCategoryCap: n % 4}
		if n%3 == 0 {
			req.Exclude = []int64{m.Data.ItemIDs[(n*101)%m.Data.NumItems()], 1, 2, 3}
		}
		if n%5 == 0 {
			req.Categories = []int64{int64(n%500 + 1), int64((n*7)%500 + 1), 3}
		}
		for _, alg := range []string{"hybrid", "popular"} {
			req.Algorithm = alg
			recs, err := m.Recommend(req)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, r := range recs {
				got = append(got, r.ItemID)
			}
			if want := reference(m, req, m.scorers[alg]); !slices.Equal(got, want) {
				t.Fatalf("%s %+v:\n got %v\nwant %v", alg, req, got, want)
			}
		}
	}
}
