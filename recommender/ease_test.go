package recommender

import (
	"math"
	"testing"
)

// EASE, like the other collaborative algorithms, offers the cap to a
// shopper with the shoe and the socks, because of one of them.
func TestEASERanking(t *testing.T) {
	m := train(t)
	hist := []Interaction{{UserID: 999, ItemID: 1, Kind: Purchase, At: t0}, {UserID: 999, ItemID: 2, Kind: Purchase, At: t0}}
	recs := recommend(t, m, Request{UserID: 999, History: hist, Algorithm: "ease", K: 3})
	if len(recs) == 0 || recs[0].ItemID != 3 {
		t.Fatalf("got %v, want item 3 first", ids(recs))
	}
	if r := recs[0].Reason; r.ItemID != 1 && r.ItemID != 2 {
		t.Fatalf("reason %+v, want one of the user's items", r)
	}
	if m.Version.Items > 0 && len(m.EASE.N.Ptr) != m.Version.Items+1 {
		t.Fatalf("ease rows %d, want one per item", len(m.EASE.N.Ptr)-1)
	}
}

// A model without EASE (Items 0) still trains and serves every algorithm.
func TestEASEOff(t *testing.T) {
	ins, catalog := fixture(t)
	cfg := smallConfig()
	cfg.EASE.Items, cfg.HybridEASEMix = 0, 0
	m, err := Train(ins, catalog, cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, algo := range Algorithms {
		if _, err := loaded.Recommend(Request{UserID: 100, Algorithm: algo, K: 3}); err != nil {
			t.Fatalf("%s: %v", algo, err)
		}
	}
}

// The hybrid halves a history item's weight every Recency later items;
// items interacted with at the same time share their rank.
func TestRecencyWeights(t *testing.T) {
	h := &Hybrid{Recency: 2}
	hist := []Entry{{Item: 1, Weight: 1, Last: 30}, {Item: 2, Weight: 2, Last: 10}, {Item: 3, Weight: 1, Last: 20}, {Item: 4, Weight: 1, Last: 30}}
	got := h.recent(hist, nil)
	want := []float64{1, 2 * math.Exp2(-3.0/2), math.Exp2(-2.0 / 2), 1}
	for k, e := range got {
		if math.Abs(float64(e.Weight)-want[k]) > 1e-6 || e.Item != hist[k].Item {
			t.Fatalf("entry %d: %+v, want weight %v", k, e, want[k])
		}
	}
	if hist[1].Weight != 2 {
		t.Fatal("recent changed the history it was given")
	}
	if off := (&Hybrid{}).recent(hist, nil); off[1].Weight != 2 {
		t.Fatalf("Recency 0 reweighted: %+v", off)
	}
	// Weights scaled by 1/16 or less are dropped: with Recency 0.6, an item
	// with three later ones.
	short := (&Hybrid{Recency: 0.6}).recent(hist, nil)
	if len(short) != 3 || short[0].Item != 1 || short[1].Item != 3 || short[2].Item != 4 {
		t.Fatalf("got %+v, want items 1, 3, 4", short)
	}
}
