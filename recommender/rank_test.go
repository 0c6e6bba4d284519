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
	cfg.ALS.Iterations, cfg.ValidationUsers, cfg.EASE.Items = 3, 200, 500
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

func TestTopNEqualsSort(t *testing.T) {
	scores := make([]float64, 3000)
	pop := make([]float32, len(scores))
	for i := range scores {
		scores[i] = float64((i * 7919) % 13) // many ties
		pop[i] = float32((i * 104729) % 5)
		if i%11 == 0 {
			scores[i] = math.Inf(-1)
		}
	}
	all := make([]int32, 0, len(scores))
	for i := range scores {
		if !math.IsInf(scores[i], -1) && i%3 != 0 {
			all = append(all, int32(i))
		}
	}
	slices.SortFunc(all, func(a, b int32) int {
		if better(scores[a], scores[b], pop[a], pop[b], a, b) {
			return -1
		}
		return 1
	})
	for _, n := range []int{0, 1, 10, 100, len(all), len(all) + 5} {
		got := topN(scores, pop, n, func(i int) bool { return i%3 != 0 })
		if want := all[:min(n, len(all))]; !slices.Equal(got, want) {
			t.Fatalf("topN(%d) = %v…, want %v…", n, got[:min(5, len(got))], want[:min(5, len(want))])
		}
	}
}
