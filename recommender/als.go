package recommender

import (
	"math"
	"math/rand/v2"
)

// ALS is implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008):
// preference 1 for every observed pair with confidence 1 + Alpha·weight,
// preference 0 elsewhere with confidence 1. Each half-step solves the
// regularised least squares per user (per item) with a few conjugate-gradient
// steps warm-started from the previous factors (Takács et al. 2011), which
// costs O(nnz·F + rows·F²) instead of Cholesky's O(rows·F³).
type ALS struct {
	F             int
	Lambda, Alpha float64
	CGSteps       int
	X, Y          []float32 // user and item factors, row-major (rows × F)
	YtY           []float64 // Yᵀ Y, kept for folding in fresh histories
}

// ALSConfig holds the latent model's hyper-parameters.
type ALSConfig struct {
	Factors, Iterations, CGSteps int
	Lambda, Alpha                float64
	Seed                         uint64
}

// NewALS trains factors on the dataset; Seed makes the init deterministic.
func NewALS(d *Dataset, c ALSConfig, workers int) *ALS {
	a := &ALS{F: c.Factors, Lambda: c.Lambda, Alpha: c.Alpha, CGSteps: c.CGSteps}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	a.X = make([]float32, d.NumUsers()*a.F)
	a.Y = make([]float32, d.NumItems()*a.F)
	scale := 0.1 / math.Sqrt(float64(a.F))
	for i := range a.X {
		a.X[i] = float32(rng.NormFloat64() * scale)
	}
	for i := range a.Y {
		a.Y[i] = float32(rng.NormFloat64() * scale)
	}
	if workers <= 0 {
		workers = 2
	}
	scratch := make([]cgScratch, workers)
	for w := range scratch {
		scratch[w] = newCGScratch(a.F)
	}
	for range c.Iterations {
		gtg := gram(a.Y, a.F, workers)
		parallel(d.NumUsers(), workers, func(w, u int) {
			es := d.User(u)
			idx, val := make([]int32, len(es)), make([]float32, len(es))
			for k, e := range es {
				idx[k], val[k] = e.Item, e.Weight
			}
			a.solve(gtg, a.Y, idx, val, a.X[u*a.F:(u+1)*a.F], a.CGSteps, &scratch[w])
		})
		gtg = gram(a.X, a.F, workers)
		parallel(d.NumItems(), workers, func(w, i int) {
			p, q := d.ItemPtr[i], d.ItemPtr[i+1]
			a.solve(gtg, a.X, d.ItemUsers[p:q], d.ItemVals[p:q], a.Y[i*a.F:(i+1)*a.F], a.CGSteps, &scratch[w])
		})
	}
	a.YtY = gram(a.Y, a.F, workers)
	return a
}

// gram is Mᵀ M for a row-major matrix with f columns, computed on up to
// workers goroutines (each sums a stripe of rows into its own upper
// triangle) and mirrored.
func gram(m []float32, f, workers int) []float64 {
	rows := len(m) / max(f, 1)
	workers = max(1, min(workers, rows/1024+1))
	parts := make([][]float64, workers)
	parallel(workers, workers, func(_, w int) {
		g := make([]float64, f*f)
		row := make([]float64, f)
		for r := w; r < rows; r += workers {
			for k, v := range m[r*f : r*f+f] {
				row[k] = float64(v)
			}
			for i, vi := range row {
				if vi == 0 {
					continue
				}
				axpy(vi, row[i:], g[i*f+i:i*f+f])
			}
		}
		parts[w] = g
	})
	g := parts[0]
	for _, p := range parts[1:] {
		for k, v := range p {
			g[k] += v
		}
	}
	for i := range f {
		for j := range i {
			g[i*f+j] = g[j*f+i]
		}
	}
	return g
}

// axpy adds a·x to y (len(y) ≤ len(x)), four lanes at a time.
func axpy(a float64, x, y []float64) {
	x = x[:len(y)]
	n := len(y) &^ 3
	for i := 0; i < n; i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for i := n; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

type cgScratch struct{ x, r, p, ap []float64 }

func newCGScratch(f int) cgScratch {
	return cgScratch{make([]float64, f), make([]float64, f), make([]float64, f), make([]float64, f)}
}

// solve updates x towards argmin of the weighted least squares of one row:
// (GᵀG + Gᵀ(C−I)G + λI) x = Gᵀ C p, over the observed (idx, val) of that row.
func (a *ALS) solve(gtg []float64, other []float32, idx []int32, val []float32, xOut []float32, steps int, s *cgScratch) {
	f := a.F
	x, r, p, ap := s.x, s.r, s.p, s.ap
	for k := range f {
		x[k] = float64(xOut[k])
	}
	// r = b − A x, with b = Σ c_i y_i.
	a.mul(gtg, other, idx, val, x, r)
	for k := range r {
		r[k] = -r[k]
	}
	for n, i := range idx {
		axpy32(1+a.Alpha*float64(val[n]), other[int(i)*f:int(i)*f+f], r)
	}
	copy(p, r)
	rs := dot(r, r)
	for range steps {
		if rs < 1e-12 {
			break
		}
		a.mul(gtg, other, idx, val, p, ap)
		step := rs / dot(p, ap)
		for k := range x {
			x[k] += step * p[k]
			r[k] -= step * ap[k]
		}
		next := dot(r, r)
		for k := range p {
			p[k] = r[k] + next/rs*p[k]
		}
		rs = next
	}
	for k := range f {
		xOut[k] = float32(x[k])
	}
}

// mul computes out = (GᵀG + λI + Σ (c_i−1) y_i y_iᵀ) v.
func (a *ALS) mul(gtg []float64, other []float32, idx []int32, val []float32, v, out []float64) {
	f := a.F
	v = v[:f]
	for i := range f {
		out[i] = a.Lambda*v[i] + dot(gtg[i*f:(i+1)*f], v)
	}
	out = out[:f]
	for n, i := range idx {
		y := other[int(i)*f : int(i)*f+f]
		yv := dot64x32(v, y) * a.Alpha * float64(val[n])
		axpy32(yv, y, out)
	}
}

// dot is Σ a_i b_i with four independent accumulators (len(b) ≥ len(a)).
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	n := len(a) &^ 3
	for i := 0; i < n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for i := n; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dot64x32 is Σ a_i b_i over a float64 and a float32 vector of equal length.
func dot64x32(a []float64, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	n := len(a) &^ 3
	for i := 0; i < n; i += 4 {
		s0 += a[i] * float64(b[i])
		s1 += a[i+1] * float64(b[i+1])
		s2 += a[i+2] * float64(b[i+2])
		s3 += a[i+3] * float64(b[i+3])
	}
	for i := n; i < len(a); i++ {
		s0 += a[i] * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy32 adds a·x to y for a float32 x of y's length.
func axpy32(a float64, x []float32, y []float64) {
	x = x[:len(y)]
	n := len(y) &^ 3
	for i := 0; i < n; i += 4 {
		y[i] += a * float64(x[i])
		y[i+1] += a * float64(x[i+1])
		y[i+2] += a * float64(x[i+2])
		y[i+3] += a * float64(x[i+3])
	}
	for i := n; i < len(y); i++ {
		y[i] += a * float64(x[i])
	}
}

// userVector is the stored factor of a known user, or one folded in from
// a fresh history by the same least-squares step.
func (a *ALS) userVector(q *Query) []float32 {
	if q.User >= 0 && !q.Fresh && (q.User+1)*a.F <= len(a.X) {
		return a.X[q.User*a.F : (q.User+1)*a.F]
	}
	idx, val := make([]int32, len(q.History)), make([]float32, len(q.History))
	for k, e := range q.History {
		idx[k], val[k] = e.Item, e.Weight
	}
	x := make([]float32, a.F)
	s := newCGScratch(a.F)
	// From zero rather than a warm start: a few more steps.
	a.solve(a.YtY, a.Y, idx, val, x, max(a.CGSteps, a.F/4), &s)
	return x
}

// Name implements Scorer.
func (a *ALS) Name() string { return "als" }

// Score implements Scorer.
func (a *ALS) Score(q *Query, out []float64) {
	if len(q.History) == 0 {
		return
	}
	x := a.userVector(q)
	for i := range out {
		out[i] = dot32(x, a.Y[i*a.F:(i+1)*a.F])
	}
}

// ScoreItems scores only the given items (the hybrid's candidates), which
// keeps serving cost independent of catalog size.
func (a *ALS) ScoreItems(q *Query, items []int32, out []float64) {
	if len(q.History) == 0 {
		return
	}
	x := a.userVector(q)
	for k, i := range items {
		out[k] = dot32(x, a.Y[int(i)*a.F:int(i+1)*a.F])
	}
}

func dot32(a, b []float32) float64 {
	var s0, s1, s2, s3 float32
	n := len(a) &^ 3
	for i := 0; i < n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for i := n; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return float64(s0 + s1 + s2 + s3)
}

// Explain implements Scorer: the history item whose factors are most
// similar (cosine) to the item's, weighted by the user's interest in it.
func (a *ALS) Explain(q *Query, item int) Evidence {
	best, bestV := -1, 0.0
	yi := a.Y[item*a.F : (item+1)*a.F]
	ni := math.Sqrt(dot32(yi, yi))
	for _, e := range q.History {
		yh := a.Y[int(e.Item)*a.F : int(e.Item+1)*a.F]
		nh := math.Sqrt(dot32(yh, yh))
		if ni == 0 || nh == 0 {
			continue
		}
		if v := float64(e.Weight) * dot32(yi, yh) / (ni * nh); v > bestV {
			best, bestV = int(e.Item), v
		}
	}
	return Evidence{Kind: "because_you", Item: best, Source: a.Name()}
}
