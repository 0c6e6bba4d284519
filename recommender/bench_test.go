package recommender

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// synthetic makes nUsers×perUser interactions over nItems items in 500
// categories: each user keeps to 3 categories and picks items there with a
// Zipf-like skew, so neighbours and factors have structure to find.
func synthetic(nUsers, perUser, nItems int) ([]Interaction, []Item) {
	rng := rand.New(rand.NewPCG(7, 7))
	const cats = 500
	catalog := make([]Item, nItems)
	for i := range catalog {
		catalog[i] = Item{ID: int64(i + 1), CategoryID: int64(i%cats + 1), Brand: fmt.Sprintf("brand%d", i%997),
			Name: fmt.Sprintf("product w%d w%d", rng.IntN(5000), rng.IntN(5000)), Repeatable: i%10 == 0}
	}
	perCat := nItems / cats
	zipf := rand.NewZipf(rand.New(rand.NewPCG(8, 8)), 1.2, 1, uint64(perCat-1))
	ins := make([]Interaction, 0, nUsers*perUser)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for u := range nUsers {
		likes := [3]int{rng.IntN(cats), rng.IntN(cats), rng.IntN(cats)}
		for range perUser {
			item := likes[rng.IntN(3)] + int(zipf.Uint64())*cats
			ins = append(ins, Interaction{UserID: int64(u + 1), ItemID: int64(item + 1), Kind: Kind(rng.IntN(3)),
				At: t0.Add(time.Duration(rng.IntN(180*24)) * time.Hour)})
		}
	}
	return ins, catalog
}

var (
	bigOnce  sync.Once
	bigModel *Model
	bigTrain time.Duration
)

func big(b *testing.B) *Model {
	bigOnce.Do(func() {
		ins, catalog := synthetic(50_000, 20, 100_000)
		start := time.Now()
		m, err := Train(ins, catalog, DefaultConfig())
		if err != nil {
			b.Fatal(err)
		}
		bigModel, bigTrain = m, time.Since(start)
	})
	return bigModel
}

// BenchmarkTrain1M trains every algorithm (with the validation pass and the
// refit) on 1M interactions, 100k items, 50k users.
func BenchmarkTrain1M(b *testing.B) {
	for b.Loop() {
		bigOnce = sync.Once{}
		big(b)
	}
	b.ReportMetric(bigTrain.Seconds(), "s/train")
	b.ReportMetric(float64(bigModel.MemoryBytes())/(1<<20), "MiB")
}

// BenchmarkRecommendTop10 serves top-10 hybrid recommendations from the 1M
// model and reports the latency distribution per call.
func BenchmarkRecommendTop10(b *testing.B) {
	m := big(b)
	var lat []time.Duration
	n := 0
	for b.Loop() {
		u := m.Data.UserIDs[(n*7919)%m.Data.NumUsers()]
		n++
		start := time.Now()
		if _, err := m.Recommend(Request{UserID: u, K: 10, PerCategoryCap: 3}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
