package recommender

import (
	"math"
	"slices"
)

// BuyAgain recommends the user's own purchases of repeatable items when
// they are due, judged by the user's purchase cadence for that item (or the
// item's typical cadence across users when the user bought it only once).
type BuyAgain struct {
	Repeatable []bool  // by item index
	Cadence    []int64 // typical seconds between purchases per item, 0 if unknown
	Default    int64   // cadence when neither is known
}

// NewBuyAgain learns each repeatable item's median repurchase interval.
func NewBuyAgain(d *Dataset) *BuyAgain {
	b := &BuyAgain{Repeatable: make([]bool, d.NumItems()), Cadence: make([]int64, d.NumItems()), Default: 30 * 86400}
	intervals := map[int32][]int64{}
	for i, it := range d.Items {
		b.Repeatable[i] = it.Repeatable
	}
	for _, e := range d.Entries {
		if b.Repeatable[e.Item] && e.Purchases >= 2 {
			intervals[e.Item] = append(intervals[e.Item], (e.LastBuy-e.FirstBuy)/int64(e.Purchases-1))
		}
	}
	for i, iv := range intervals {
		slices.Sort(iv)
		b.Cadence[i] = iv[len(iv)/2]
	}
	return b
}

// Name implements Scorer.
func (b *BuyAgain) Name() string { return "buy_again" }

// Score implements Scorer: P/(P+1) · exp(−½(ln(elapsed/cadence)/0.5)²), a bump
// that peaks when the item is exactly due and fades when far early or late;
// items not bought, or not repeatable, are not candidates.
func (b *BuyAgain) Score(q *Query, out []float64) {
	for i := range out {
		out[i] = math.Inf(-1)
	}
	for _, e := range q.History {
		if e.Purchases == 0 || !b.Repeatable[e.Item] {
			continue
		}
		cadence := b.Default
		switch {
		case e.Purchases >= 2 && e.LastBuy > e.FirstBuy:
			cadence = (e.LastBuy - e.FirstBuy) / int64(e.Purchases-1)
		case b.Cadence[e.Item] > 0:
			cadence = b.Cadence[e.Item]
		}
		elapsed := max(q.Now-e.LastBuy, 3600)
		l := math.Log(float64(elapsed)/float64(cadence)) / 0.5
		p := float64(e.Purchases)
		out[e.Item] = p / (p + 1) * math.Exp(-0.5*l*l)
	}
}

// Explain implements Scorer.
func (b *BuyAgain) Explain(_ *Query, item int) Evidence {
	return Evidence{Kind: "buy_again", Item: item, Source: b.Name()}
}
