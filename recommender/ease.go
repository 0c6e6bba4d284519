package recommender

import (
	"slices"

	"gonum.org/v1/gonum/mat"
)

// EASE is the closed-form linear item-to-item model of Steck (2019):
// B = argmin ‖X − XB‖² + λ‖B‖² with diag(B) = 0, which is B = −P/diag(P)
// for P = (XᵀX + λI)⁻¹. Its cost is cubic in the items, so it is fitted on
// the most popular ones only (which carry most interactions); each item
// keeps its top-N weights, stored and served like itemknn's neighbours.
type EASE struct {
	N neighbours
}

// EASEConfig sizes the model: Items most popular items (0 disables it),
// Lambda relative to the mean diagonal of XᵀX, Neighbours kept per item.
type EASEConfig struct {
	Items      int
	Lambda     float64
	Neighbours int
}

// NewEASE fits the model on the c.Items items with the most interactions.
func NewEASE(d *Dataset, c EASEConfig, workers int) *EASE {
	ni := d.NumItems()
	e := &EASE{N: neighbours{Ptr: make([]int32, ni+1)}}
	if c.Items <= 0 || ni == 0 {
		return e
	}
	// The restricted item set, by number of users, ties by index.
	order := make([]int32, ni)
	for i := range order {
		order[i] = int32(i)
	}
	count := func(i int32) int32 { return d.ItemPtr[i+1] - d.ItemPtr[i] }
	slices.SortFunc(order, func(a, b int32) int {
		if ca, cb := count(a), count(b); ca != cb {
			return int(cb - ca)
		}
		return int(a - b)
	})
	n := min(c.Items, ni)
	for n > 0 && count(order[n-1]) == 0 {
		n--
	}
	if n < 2 {
		return e
	}
	sel := order[:n]
	slices.Sort(sel)
	local := make([]int32, ni) // item → position in sel, −1 outside
	for i := range local {
		local[i] = -1
	}
	for k, i := range sel {
		local[i] = int32(k)
	}
	// G = XᵀX over the selected items, summed per user on each worker.
	if workers <= 0 {
		workers = 2
	}
	parts := make([][]float64, workers)
	parallel(workers, workers, func(_, w int) {
		g := make([]float64, n*n)
		var idx []int32
		var val []float64
		for u := w; u < d.NumUsers(); u += workers {
			idx, val = idx[:0], val[:0]
			for _, en := range d.User(u) {
				if k := local[en.Item]; k >= 0 {
					idx, val = append(idx, k), append(val, float64(en.Weight))
				}
			}
			for a, ka := range idx {
				row := g[int(ka)*n:]
				for b, kb := range idx[a:] {
					row[kb] += val[a] * val[a+b]
				}
			}
		}
		parts[w] = g
	})
	g := parts[0]
	for _, p := range parts[1:] {
		blasImpl.Daxpy(len(g), 1, p, 1, g, 1)
	}
	// idx is ascending per user, so only the upper triangle was filled.
	mean := 0.0
	for k := range n {
		mean += g[k*n+k]
	}
	lambda := c.Lambda * mean / float64(n)
	for k := range n {
		g[k*n+k] += lambda
	}
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(n, g)) {
		return e
	}
	var p mat.SymDense
	if err := chol.InverseTo(&p); err != nil {
		return e
	}
	rows := make([][]int32, ni)
	sims := make([][]float32, ni)
	parallel(n, workers, func(_, a int) {
		cand := make([]int32, 0, n)
		s := make([]float32, 0, n)
		for b := range n {
			if b != a {
				// B[a][b] = −P[a][b] / P[b][b]: a's weight in b's score.
				if v := -p.At(a, b) / p.At(b, b); v > 0 {
					cand, s = append(cand, sel[b]), append(s, float32(v))
				}
			}
		}
		rows[sel[a]], sims[sel[a]] = topRow(cand, s, c.Neighbours)
	})
	e.N = pack(rows, sims)
	return e
}

// Name implements Scorer.
func (e *EASE) Name() string { return "ease" }

// Score implements Scorer.
func (e *EASE) Score(q *Query, out []float64) { e.N.accumulate(q.History, out) }

// Explain implements Scorer.
func (e *EASE) Explain(q *Query, item int) Evidence {
	return Evidence{Kind: "because_you", Item: e.N.strongest(q.History, item), Source: e.Name()}
}
