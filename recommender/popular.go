package recommender

import "time"

// Popular ranks items by time-decayed interaction strength over all users.
type Popular struct {
	Scores []float32
}

// NewPopular sums every interaction's strength, decayed with halfLife
// (typically short: "popular this week") from the dataset's reference time.
func NewPopular(d *Dataset, ins []Interaction, w Weighting, halfLife time.Duration) *Popular {
	w.HalfLife = halfLife
	p := &Popular{Scores: make([]float32, d.NumItems())}
	for _, in := range ins {
		if i, ok := d.ItemIndex(in.ItemID); ok {
			p.Scores[i] += float32(w.Of(in, d.Ref))
		}
	}
	return p
}

// Name implements Scorer.
func (p *Popular) Name() string { return "popular" }

// Score implements Scorer.
func (p *Popular) Score(_ *Query, out []float64) {
	for i, s := range p.Scores {
		out[i] = float64(s)
	}
}

// Explain implements Scorer.
func (p *Popular) Explain(*Query, int) Evidence {
	return Evidence{Kind: "popular", Item: -1, Source: p.Name()}
}
