package recommender

import "math"

// ItemKNN scores an item by its cosine similarity (over co-occurrence in
// users' histories, shrunk towards 0 for rarely co-occurring pairs, raised
// to a locality exponent that lets the closest neighbours count most) to
// the items the user has, keeping the top-N neighbours per item.
type ItemKNN struct {
	N neighbours
}

// NewItemKNN computes the top-n neighbours of every item.
func NewItemKNN(d *Dataset, n int, shrink, locality float64, workers int) *ItemKNN {
	ni := d.NumItems()
	norms := make([]float64, ni)
	for i := range ni {
		for _, v := range d.ItemVals[d.ItemPtr[i]:d.ItemPtr[i+1]] {
			norms[i] += float64(v) * float64(v)
		}
		norms[i] = math.Sqrt(norms[i])
	}
	if workers <= 0 {
		workers = 2
	}
	acc := make([][]float64, workers)
	for w := range acc {
		acc[w] = make([]float64, ni)
	}
	rows := make([][]int32, ni)
	sims := make([][]float32, ni)
	parallel(ni, workers, func(w, i int) {
		a := acc[w]
		var touched []int32
		for p := d.ItemPtr[i]; p < d.ItemPtr[i+1]; p++ {
			rui := float64(d.ItemVals[p])
			for _, e := range d.User(int(d.ItemUsers[p])) {
				if a[e.Item] == 0 {
					touched = append(touched, e.Item)
				}
				a[e.Item] += rui * float64(e.Weight)
			}
		}
		cand := make([]int32, 0, len(touched))
		s := make([]float32, 0, len(touched))
		for _, j := range touched {
			if int(j) != i && a[j] > 0 {
				cand = append(cand, j)
				v := a[j] / (norms[i]*norms[j] + shrink)
				if locality != 1 {
					v = math.Pow(v, locality)
				}
				s = append(s, float32(v))
			}
			a[j] = 0
		}
		rows[i], sims[i] = topRow(cand, s, n)
	})
	return &ItemKNN{N: pack(rows, sims)}
}

// pack flattens per-row neighbour lists into a neighbours CSR.
func pack(rows [][]int32, sims [][]float32) neighbours {
	nb := neighbours{Ptr: make([]int32, len(rows)+1)}
	for i, r := range rows {
		nb.Ptr[i+1] = nb.Ptr[i] + int32(len(r))
	}
	nb.Idx = make([]int32, 0, nb.Ptr[len(rows)])
	nb.Sim = make([]float32, 0, nb.Ptr[len(rows)])
	for i := range rows {
		nb.Idx = append(nb.Idx, rows[i]...)
		nb.Sim = append(nb.Sim, sims[i]...)
	}
	return nb
}

// Name implements Scorer.
func (k *ItemKNN) Name() string { return "itemknn" }

// Score implements Scorer.
func (k *ItemKNN) Score(q *Query, out []float64) { k.N.accumulate(q.History, out) }

// Explain implements Scorer.
func (k *ItemKNN) Explain(q *Query, item int) Evidence {
	return Evidence{Kind: "because_you", Item: k.N.strongest(q.History, item), Source: k.Name()}
}
