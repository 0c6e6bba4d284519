package eval

import (
	"math/rand/v2"
	"slices"
)

// Comparison is a paired bootstrap of a per-user metric, A minus B.
type Comparison struct {
	MeanDiff  float64 // observed mean of A − B
	Low, High float64 // percentile confidence interval of the mean difference at Level
	Level     float64 // 0.95 unless asked otherwise
	P         float64 // two-sided p-value of "no difference"
	Resamples int
}

// Better reports whether A beats B by more than resampling noise.
func (c Comparison) Better() bool { return c.Low > 0 }

// PairedBootstrap resamples users with replacement (the same users for A
// and B, which cancels per-user difficulty) and reads the 95 % interval
// and the p-value off the resampled mean differences. Seeded: deterministic.
func PairedBootstrap(a, b []float64, resamples int, seed uint64) Comparison {
	return PairedBootstrapAt(a, b, resamples, seed, 0.95)
}

// PairedBootstrapAt is PairedBootstrap with an interval at level (e.g.
// 1 − 0.05/n when the best of n candidates is picked).
func PairedBootstrapAt(a, b []float64, resamples int, seed uint64, level float64) Comparison {
	n := min(len(a), len(b))
	c := Comparison{Resamples: resamples, Level: level}
	if n == 0 || resamples <= 0 {
		return c
	}
	d := make([]float64, n)
	for i := range d {
		d[i] = a[i] - b[i]
		c.MeanDiff += d[i]
	}
	c.MeanDiff /= float64(n)
	rng := rand.New(rand.NewPCG(seed, 0xb007))
	means := make([]float64, resamples)
	le, ge := 0, 0
	for r := range means {
		s := 0.0
		for range n {
			s += d[rng.IntN(n)]
		}
		means[r] = s / float64(n)
		// Centred on the null: how often a resample strays as far from the
		// observed mean as the observed mean is from zero.
		if means[r]-c.MeanDiff <= -abs(c.MeanDiff) {
			le++
		}
		if means[r]-c.MeanDiff >= abs(c.MeanDiff) {
			ge++
		}
	}
	slices.Sort(means)
	tail := (1 - level) / 2
	c.Low, c.High = means[int(tail*float64(resamples))], means[min(int((1-tail)*float64(resamples)), resamples-1)]
	c.P = min(1, float64(le+ge+1)/float64(resamples+1))
	return c
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Column picks one metric out of per-user results.
func Column(us []UserMetrics, metric func(UserMetrics) float64) []float64 {
	out := make([]float64, len(us))
	for i, u := range us {
		out[i] = metric(u)
	}
	return out
}
