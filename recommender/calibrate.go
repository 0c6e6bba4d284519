package recommender

import "sort"

// Calibrator maps a raw score to the probability that the item is a hit,
// fitted by isotonic regression (pool-adjacent-violators) on validation
// recommendations: monotone in the score by construction, interpolated
// linearly between block means and clamped at the ends.
type Calibrator struct {
	X, Y []float64
}

// FitCalibrator fits hits (1 or 0) against scores.
func FitCalibrator(scores, hits []float64) *Calibrator {
	ord := make([]int, len(scores))
	for i := range ord {
		ord[i] = i
	}
	sort.SliceStable(ord, func(a, b int) bool { return scores[ord[a]] < scores[ord[b]] })
	type block struct{ sx, sy, n float64 }
	var bs []block
	for _, i := range ord {
		bs = append(bs, block{scores[i], hits[i], 1})
		for len(bs) > 1 {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			if a.sy/a.n < b.sy/b.n {
				break
			}
			bs = append(bs[:len(bs)-2], block{a.sx + b.sx, a.sy + b.sy, a.n + b.n})
		}
	}
	c := &Calibrator{}
	// At most maxCalibrationPoints evenly spaced blocks: the curve stays
	// monotone and a model's blend stays small enough to checkpoint.
	step := max(1, (len(bs)+maxCalibrationPoints-1)/maxCalibrationPoints)
	for k, b := range bs {
		if k%step == 0 || k == len(bs)-1 {
			c.X, c.Y = append(c.X, b.sx/b.n), append(c.Y, b.sy/b.n)
		}
	}
	return c
}

const maxCalibrationPoints = 256

// Predict is the calibrated probability for score, in [0, 1].
func (c *Calibrator) Predict(score float64) float64 {
	if c == nil || len(c.X) == 0 {
		return 0
	}
	n := len(c.X)
	if score <= c.X[0] {
		return c.Y[0]
	}
	if score >= c.X[n-1] {
		return c.Y[n-1]
	}
	k := sort.SearchFloat64s(c.X, score)
	t := (score - c.X[k-1]) / (c.X[k] - c.X[k-1])
	return c.Y[k-1] + t*(c.Y[k]-c.Y[k-1])
}
