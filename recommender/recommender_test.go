package recommender

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture: two tastes. Users 100-119 buy items 1, 2, 3 (cat 10); users
// 200-229 buy 5 and 6 (cat 20). Item 4 (cat 10) goes with 1 for a few;
// item 7 is a repeatable consumable; item 9 is new (no interactions) and
// described like item 1.
func fixture(t testing.TB) ([]Interaction, []Item) {
	t.Helper()
	catalog := []Item{
		{ID: 1, CategoryID: 10, Brand: "Acme", Name: "Trail running shoe", Description: "lightweight trail running shoe"},
		{ID: 2, CategoryID: 10, Brand: "Acme", Name: "Running socks", Description: "merino socks"},
		{ID: 3, CategoryID: 10, Brand: "Peak", Name: "Running cap", Description: "breathable cap"},
		{ID: 4, CategoryID: 10, Brand: "Peak", Name: "Water bottle", Description: "insulated bottle"},
		{ID: 5, CategoryID: 20, Brand: "Bake", Name: "Cake tin", Description: "round cake tin"},
		{ID: 6, CategoryID: 20, Brand: "Bake", Name: "Whisk", Description: "steel whisk"},
		{ID: 7, CategoryID: 30, Brand: "Brew", Name: "Coffee beans", Description: "espresso roast", Repeatable: true},
		{ID: 9, CategoryID: 10, Brand: "Acme", Name: "Trail running shoe pro", Description: "lightweight trail running shoe, carbon plate"},
	}
	var ins []Interaction
	at := func(d int) time.Time { return t0.Add(time.Duration(d) * 24 * time.Hour) }
	for u := int64(100); u < 120; u++ {
		for k, i := range []int64{1, 2, 3} {
			ins = append(ins, Interaction{UserID: u, ItemID: i, Kind: Purchase, At: at(int(u-100) + k)})
		}
		if u < 104 {
			ins = append(ins, Interaction{UserID: u, ItemID: 4, Kind: View, At: at(30)})
		}
	}
	for u := int64(200); u < 230; u++ {
		ins = append(ins, Interaction{UserID: u, ItemID: 5, Kind: Purchase, At: at(10)},
			Interaction{UserID: u, ItemID: 6, Kind: Cart, At: at(11)})
	}
	// Coffee every 14 days for user 300, who also owns a cake tin.
	for k := range 4 {
		ins = append(ins, Interaction{UserID: 300, ItemID: 7, Kind: Purchase, At: at(14 * k)})
	}
	ins = append(ins, Interaction{UserID: 300, ItemID: 5, Kind: Purchase, At: at(3)})
	return ins, catalog
}

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.ALS.Factors, cfg.ALS.Iterations = 8, 15
	cfg.ValidationFraction = 0 // too few interactions to hold any out
	cfg.Ref = t0.Add(60 * 24 * time.Hour)
	cfg.Weighting.HalfLife, cfg.PopularHalfLife = 0, 0 // rankings by count; decay has its own test
	return cfg
}

func train(t testing.TB) *Model {
	t.Helper()
	ins, catalog := fixture(t)
	m, err := Train(ins, catalog, smallConfig())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ids(recs []Recommendation) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.ItemID
	}
	return out
}

func recommend(t *testing.T, m *Model, req Request) []Recommendation {
	t.Helper()
	recs, err := m.Recommend(req)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestWeightingByKindAndDecay(t *testing.T) {
	w := DefaultWeighting()
	w.HalfLife = 10 * 24 * time.Hour
	ref := t0.Add(10 * 24 * time.Hour)
	buy := w.Of(Interaction{Kind: Purchase, At: ref}, ref)
	cart := w.Of(Interaction{Kind: Cart, At: ref}, ref)
	view := w.Of(Interaction{Kind: View, At: ref}, ref)
	if !(buy > cart && cart > view) {
		t.Fatalf("purchase %v, cart %v, view %v: want purchase > cart > view", buy, cart, view)
	}
	if old := w.Of(Interaction{Kind: Purchase, At: t0}, ref); math.Abs(old-buy/2) > 1e-9 {
		t.Fatalf("a purchase one half-life old weighs %v, want %v", old, buy/2)
	}
}

// A shopper who bought the shoe and the socks should be offered the cap,
// the item every other buyer of both took, by every collaborative algorithm.
func TestCollaborativeRankings(t *testing.T) {
	m := train(t)
	hist := []Interaction{{UserID: 999, ItemID: 1, Kind: Purchase, At: t0}, {UserID: 999, ItemID: 2, Kind: Purchase, At: t0}}
	for _, algo := range []string{"itemknn", "als", "hybrid"} {
		recs := recommend(t, m, Request{UserID: 999, History: hist, Algorithm: algo, K: 3})
		if len(recs) == 0 || recs[0].ItemID != 3 {
			t.Fatalf("%s: got %v, want item 3 first", algo, ids(recs))
		}
		if r := recs[0].Reason; r.ItemID != 1 && r.ItemID != 2 {
			t.Fatalf("%s: reason %+v, want one of the user's items", algo, r)
		}
	}
	knn := recommend(t, m, Request{UserID: 999, History: hist, Algorithm: "itemknn", K: 1})
	if txt := knn[0].Reason.Text; txt != "because you bought Trail running shoe" && txt != "because you bought Running socks" {
		t.Fatalf("reason text %q", txt)
	}
	if also := m.AlsoBought(5, 1); len(also) != 1 || also[0].ItemID != 6 {
		t.Fatalf("also bought with 5: %v, want 6", ids(also))
	}
}

func TestPopularAndColdStart(t *testing.T) {
	m := train(t)
	// Item 5 has 31 buyers, more than any other.
	recs := recommend(t, m, Request{UserID: 12345, K: 2})
	if len(recs) != 2 || recs[0].ItemID != 5 || recs[0].Reason.Kind != "popular" {
		t.Fatalf("cold user: %v %+v, want popular item 5 first", ids(recs), recs)
	}
	in10 := recommend(t, m, Request{UserID: 12345, Algorithm: "popular", K: 1, Categories: []int64{10}})
	if len(in10) != 1 || in10[0].ItemID != 1 || in10[0].Reason.Text != "popular in category 10 this week" {
		t.Fatalf("popular in category 10: %+v", in10)
	}
}

func TestFilters(t *testing.T) {
	m := train(t)
	owned := recommend(t, m, Request{UserID: 100, Algorithm: "popular", K: 10})
	for _, id := range ids(owned) {
		if id == 1 || id == 2 || id == 3 || id == 4 {
			t.Fatalf("user 100 owns items 1-4, got %v", ids(owned))
		}
	}
	ex := recommend(t, m, Request{UserID: 100, Algorithm: "popular", K: 1, Exclude: []int64{5}})
	if ex[0].ItemID == 5 {
		t.Fatalf("excluded item 5 recommended: %v", ids(ex))
	}
	cat := recommend(t, m, Request{UserID: 12345, Algorithm: "popular", K: 10, Categories: []int64{20}})
	if got := ids(cat); len(got) != 2 || got[0] != 5 || got[1] != 6 {
		t.Fatalf("category 20 only: %v, want [5 6]", got)
	}
	capped := recommend(t, m, Request{UserID: 12345, Algorithm: "popular", K: 4, PerCategoryCap: 1})
	seen := map[int64]bool{}
	for _, r := range capped {
		c := m.Data.Items[mustIndex(t, m, r.ItemID)].CategoryID
		if seen[c] {
			t.Fatalf("category %d twice with a cap of 1: %v", c, ids(capped))
		}
		seen[c] = true
	}
	if len(capped) != 3 {
		t.Fatalf("3 categories with a cap of 1: got %v", ids(capped))
	}
}

func mustIndex(t *testing.T, m *Model, id int64) int {
	i, ok := m.Data.ItemIndex(id)
	if !ok {
		t.Fatalf("item %d unknown", id)
	}
	return i
}

func TestBuyAgainOnlyRepeatablesWhenDue(t *testing.T) {
	m := train(t)
	due := t0.Add(56 * 24 * time.Hour) // last coffee on day 42, every 14 days
	recs := recommend(t, m, Request{UserID: 300, Algorithm: "buy_again", K: 5, Now: due})
	if got := ids(recs); len(got) != 1 || got[0] != 7 {
		t.Fatalf("buy again: %v, want only the coffee (the cake tin is not repeatable)", got)
	}
	if recs[0].Reason.Kind != "buy_again" {
		t.Fatalf("reason %+v", recs[0].Reason)
	}
	early := recommend(t, m, Request{UserID: 300, Algorithm: "buy_again", K: 5, Now: t0.Add(43 * 24 * time.Hour)})
	if early[0].Score >= recs[0].Score {
		t.Fatalf("one day after buying scores %v, when due %v", early[0].Score, recs[0].Score)
	}
	for _, id := range ids(recommend(t, m, Request{UserID: 300, Algorithm: "popular", K: 10})) {
		if id == 7 {
			t.Fatal("popular recommended the coffee the user already has")
		}
	}
}

// A new item nobody interacted with still reaches a user through content.
func TestNewItemThroughContent(t *testing.T) {
	m := train(t)
	hist := []Interaction{{UserID: 999, ItemID: 1, Kind: Purchase, At: t0}}
	for _, algo := range []string{"content", "hybrid"} {
		recs := recommend(t, m, Request{UserID: 999, History: hist, Algorithm: algo, K: 3})
		found := false
		for _, r := range recs {
			if r.ItemID == 9 {
				found = r.Reason.Kind == "similar_content" && r.Reason.ItemID == 1
			}
		}
		if !found {
			t.Fatalf("%s: %+v, want new item 9 for its likeness to item 1", algo, recs)
		}
	}
}

func TestRoundTripGivesIdenticalRecommendations(t *testing.T) {
	m := train(t)
	m.Calibration = map[string]*Calibrator{"hybrid": FitCalibrator([]float64{0, 1, 2}, []float64{0, 0, 1})}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if m2.MemoryBytes() <= 0 || m2.MemoryBytes() != m.MemoryBytes() {
		t.Fatalf("memory %d vs %d", m2.MemoryBytes(), m.MemoryBytes())
	}
	for _, algo := range Algorithms {
		for _, u := range []int64{100, 200, 300, 12345} {
			req := Request{UserID: u, Algorithm: algo, K: 5, Now: t0.Add(56 * 24 * time.Hour)}
			a, b := recommend(t, m, req), recommend(t, m2, req)
			if len(a) != len(b) {
				t.Fatalf("%s user %d: %v vs %v", algo, u, ids(a), ids(b))
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%s user %d: %+v vs %+v", algo, u, a[i], b[i])
				}
			}
		}
	}
	if _, err := Load(b[:len(b)/2]); err == nil {
		t.Fatal("truncated model loaded")
	}
}

func TestCalibratorIsMonotone(t *testing.T) {
	c := FitCalibrator([]float64{1, 2, 3, 4, 5, 6}, []float64{0, 1, 0, 0, 1, 1})
	prev := -1.0
	for s := 0.0; s <= 7; s += 0.25 {
		p := c.Predict(s)
		if p < prev || p < 0 || p > 1 {
			t.Fatalf("confidence %v at %v after %v", p, s, prev)
		}
		prev = p
	}
	if c.Predict(0) != 0 || c.Predict(7) != 1 {
		t.Fatalf("ends %v %v", c.Predict(0), c.Predict(7))
	}
}

func TestUnknownAlgorithm(t *testing.T) {
	if _, err := train(t).Recommend(Request{Algorithm: "magic", K: 1}); err == nil {
		t.Fatal("want an error")
	}
}

// Training in two steps with the blend passed through JSON (as a training
// job checkpoints it) gives the model Train gives.
func TestFitWithACheckpointedBlendEqualsTrain(t *testing.T) {
	ins, catalog := fixture(t)
	cfg := smallConfig()
	cfg.ValidationFraction = 0.3
	whole, err := Train(ins, catalog, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LearnBlend(ins, catalog, cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Blend
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Calibration) == 0 {
		t.Fatal("the blend carries the calibration")
	}
	resumed, err := Fit(ins, catalog, cfg, back)
	if err != nil {
		t.Fatal(err)
	}
	if whole.Hybrid.Weights != resumed.Hybrid.Weights {
		t.Fatalf("weights %v, resumed %v", whole.Hybrid.Weights, resumed.Hybrid.Weights)
	}
	for _, u := range []int64{100, 205, 300} {
		a, b := recommend(t, whole, Request{UserID: u, K: 5}), recommend(t, resumed, Request{UserID: u, K: 5})
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("user %d: %v, resumed %v", u, a, b)
		}
	}
}
