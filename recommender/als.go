package recommender

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
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
// Training works on float64 copies of the factors (the products run on
// gonum's assembly kernels); the model keeps them as float32.
func NewALS(d *Dataset, c ALSConfig, workers int) *ALS {
	a := &ALS{F: c.Factors, Lambda: c.Lambda, Alpha: c.Alpha, CGSteps: c.CGSteps}
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	x := make([]float64, d.NumUsers()*a.F)
	y := make([]float64, d.NumItems()*a.F)
	scale := 0.1 / math.Sqrt(float64(a.F))
	for i := range x {
		x[i] = float64(float32(rng.NormFloat64() * scale))
	}
	for i := range y {
		y[i] = float64(float32(rng.NormFloat64() * scale))
	}
	if workers <= 0 {
		workers = 2
	}
	scratch := make([]cgScratch, workers)
	for w := range scratch {
		scratch[w] = newCGScratch(a.F)
	}
	for range c.Iterations {
		gtg := gram(y, a.F, workers)
		parallel(d.NumUsers(), workers, func(w, u int) {
			s := &scratch[w]
			s.idx, s.val = s.idx[:0], s.val[:0]
			for _, e := range d.User(u) {
				s.idx, s.val = append(s.idx, e.Item), append(s.val, e.Weight)
			}
			a.solve(gtg, y, s.idx, s.val, x[u*a.F:(u+1)*a.F], a.CGSteps, s)
		})
		gtg = gram(x, a.F, workers)
		parallel(d.NumItems(), workers, func(w, i int) {
			p, q := d.ItemPtr[i], d.ItemPtr[i+1]
			a.solve(gtg, x, d.ItemUsers[p:q], d.ItemVals[p:q], y[i*a.F:(i+1)*a.F], a.CGSteps, &scratch[w])
		})
	}
	a.YtY = gram(y, a.F, workers)
	a.X, a.Y = to32(x), to32(y)
	return a
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

var blasImpl gonum.Implementation

// gram is Mᵀ M for a row-major matrix with f columns, computed on up to
// workers goroutines (each sums a stripe of rows into its own upper
// triangle) and mirrored.
func gram(m []float64, f, workers int) []float64 {
	rows := len(m) / max(f, 1)
	workers = max(1, min(workers, rows/1024+1))
	parts := make([][]float64, workers)
	parallel(workers, workers, func(_, w int) {
		g := make([]float64, f*f)
		for r := w; r < rows; r += workers {
			row := m[r*f : r*f+f]
			for i, vi := range row {
				if vi != 0 {
					blasImpl.Daxpy(f-i, vi, row[i:], 1, g[i*f+i:i*f+f], 1)
				}
			}
		}
		parts[w] = g
	})
	g := parts[0]
	for _, p := range parts[1:] {
		blasImpl.Daxpy(len(g), 1, p, 1, g, 1)
	}
	for i := range f {
		for j := range i {
			g[i*f+j] = g[j*f+i]
		}
	}
	return g
}

type cgScratch struct {
	x, r, p, ap []float64
	idx         []int32
	val         []float32
}

func newCGScratch(f int) cgScratch {
	return cgScratch{x: make([]float64, f), r: make([]float64, f), p: make([]float64, f), ap: make([]float64, f)}
}

// solve updates xOut towards argmin of the weighted least squares of one
// row: (GᵀG + Gᵀ(C−I)G + λI) x = Gᵀ C p, over the observed (idx, val) of
// that row; other holds the rows of G.
func (a *ALS) solve(gtg, other []float64, idx []int32, val []float32, xOut []float64, steps int, s *cgScratch) {
	f := a.F
	x, r, p, ap := s.x, s.r, s.p, s.ap
	copy(x, xOut[:f])
	// r = b − A x, with b = Σ c_i y_i.
	a.mul(gtg, other, idx, val, x, r)
	for k := range r {
		r[k] = -r[k]
	}
	for n, i := range idx {
		blasImpl.Daxpy(f, 1+a.Alpha*float64(val[n]), other[int(i)*f:int(i)*f+f], 1, r, 1)
	}
	copy(p, r)
	rs := blasImpl.Ddot(f, r, 1, r, 1)
	for range steps {
		if rs < 1e-12 {
			break
		}
		a.mul(gtg, other, idx, val, p, ap)
		step := rs / blasImpl.Ddot(f, p, 1, ap, 1)
		blasImpl.Daxpy(f, step, p, 1, x, 1)
		blasImpl.Daxpy(f, -step, ap, 1, r, 1)
		next := blasImpl.Ddot(f, r, 1, r, 1)
		for k := range p {
			p[k] = r[k] + next/rs*p[k]
		}
		rs = next
	}
	copy(xOut[:f], x)
}

// mul computes out = (GᵀG + λI + Σ (c_i−1) y_i y_iᵀ) v.
func (a *ALS) mul(gtg, other []float64, idx []int32, val []float32, v, out []float64) {
	f := a.F
	copy(out, v[:f])
	blasImpl.Dgemv(blas.NoTrans, f, f, 1, gtg, f, v, 1, a.Lambda, out, 1)
	for n, i := range idx {
		y := other[int(i)*f : int(i)*f+f]
		yv := blasImpl.Ddot(f, y, 1, v, 1) * a.Alpha * float64(val[n])
		blasImpl.Daxpy(f, yv, y, 1, out, 1)
	}
}

// userVector is the stored factor of a known user, or one folded in from
// a fresh history by the same least-squares step.
func (a *ALS) userVector(q *Query) []float32 {
	if q.User >= 0 && !q.Fresh && (q.User+1)*a.F <= len(a.X) {
		return a.X[q.User*a.F : (q.User+1)*a.F]
	}
	if len(q.x) == a.F {
		return q.x
	}
	// The history's item factors as a small float64 matrix, rows 0..n-1.
	n := len(q.History)
	rows := make([]float64, n*a.F)
	idx, val := make([]int32, n), make([]float32, n)
	for k, e := range q.History {
		for j, v := range a.Y[int(e.Item)*a.F : int(e.Item+1)*a.F] {
			rows[k*a.F+j] = float64(v)
		}
		idx[k], val[k] = int32(k), e.Weight
	}
	x64 := make([]float64, a.F)
	s := newCGScratch(a.F)
	// From zero rather than a warm start: a few more steps.
	a.solve(a.YtY, rows, idx, val, x64, max(a.CGSteps, a.F/4), &s)
	x := to32(x64)
	q.x = x
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

// dot32 is the dot product of two float32 vectors of equal length, on
// gonum's SIMD kernel.
func dot32(a, b []float32) float64 { return float64(blasImpl.Sdot(len(a), a, 1, b, 1)) }

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
