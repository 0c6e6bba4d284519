package recommender

import (
	"math"
	"slices"
	"sort"
)

// Query is what a scorer knows about the user being served.
type Query struct {
	User    int     // dense user index, -1 when the model has not seen the user
	History []Entry // the user's history, sorted by item index
	Fresh   bool    // History differs from the training history (latent factors are folded in)
	Now     int64   // unix seconds, for buy_again cadence

	hybrid *features // the hybrid's normalisation, kept for Explain
	x      []float32 // the user's latent factors once folded in
}

// Scorer is one recommendation algorithm over a trained model.
type Scorer interface {
	Name() string
	// Score writes every item's score into out (len NumItems, zeroed by the
	// caller); -Inf marks an item the scorer will not recommend.
	Score(q *Query, out []float64)
	// Explain names what made item score: a history item (index) or -1.
	Explain(q *Query, item int) Evidence
}

// Evidence is the machine-readable reason behind one recommendation.
type Evidence struct {
	Kind   string // because_you (Item is the history item), similar_content, popular, buy_again
	Item   int    // dense item index of the evidence, -1 if none
	Source string // the algorithm the evidence comes from
}

// neighbours is a sparse item×item similarity, top-N per row, each row sorted
// by item index so that sim lookups are a binary search.
type neighbours struct {
	Ptr []int32
	Idx []int32
	Sim []float32
}

func (n *neighbours) row(i int) ([]int32, []float32) {
	return n.Idx[n.Ptr[i]:n.Ptr[i+1]], n.Sim[n.Ptr[i]:n.Ptr[i+1]]
}

func (n *neighbours) sim(i, j int) float32 {
	idx, sim := n.row(i)
	if k, ok := slices.BinarySearch(idx, int32(j)); ok {
		return sim[k]
	}
	return 0
}

// accumulate adds Σ_h w_h·sim(h, ·) over the history into out.
func (n *neighbours) accumulate(hist []Entry, out []float64) {
	for _, e := range hist {
		idx, sim := n.row(int(e.Item))
		w := float64(e.Weight)
		for k, j := range idx {
			out[j] += w * float64(sim[k])
		}
	}
}

// accumulateTouched is accumulate that also appends every item it reaches
// for the first time (mark[j] false) to touched and marks it.
func (n *neighbours) accumulateTouched(hist []Entry, out []float64, mark []bool, touched []int32) []int32 {
	for _, e := range hist {
		idx, sim := n.row(int(e.Item))
		w := float64(e.Weight)
		for k, j := range idx {
			out[j] += w * float64(sim[k])
			if !mark[j] {
				mark[j] = true
				touched = append(touched, j)
			}
		}
	}
	return touched
}

// strongest is the history item contributing most to item's score.
func (n *neighbours) strongest(hist []Entry, item int) int {
	best, bestV := -1, 0.0
	for _, e := range hist {
		if v := float64(e.Weight) * float64(n.sim(int(e.Item), item)); v > bestV {
			best, bestV = int(e.Item), v
		}
	}
	return best
}

// topRow keeps the n best (j, sim) pairs and returns them sorted by j.
// Selection is a bounded min-heap: rows can have many thousands of candidates.
func topRow(cand []int32, sims []float32, n int) ([]int32, []float32) {
	worse := func(a, b int) bool { // candidate a ranks below b
		return sims[a] < sims[b] || (sims[a] == sims[b] && cand[a] > cand[b])
	}
	h := make([]int, 0, min(n, len(cand)))
	for k := range cand {
		switch {
		case len(h) < n:
			h = append(h, k)
			siftUp(h, worse)
		case n > 0 && worse(h[0], k):
			h[0] = k
			siftDown(h, 0, worse)
		}
	}
	sort.Slice(h, func(a, b int) bool { return cand[h[a]] < cand[h[b]] })
	c, s := make([]int32, len(h)), make([]float32, len(h))
	for k, o := range h {
		c[k], s[k] = cand[o], sims[o]
	}
	return c, s
}

// topN returns the n best items of scores (skipping -Inf and those keep
// rejects), best first; ties on score are broken by popularity, then by
// index, so rankings are deterministic and sparse scorers fall back on what
// is popular. It keeps a min-heap of the best so far: most items lose
// against its root's score alone, so the scan costs little more than a
// comparison per item.
func topN(scores []float64, pop []float32, n int, keep func(int) bool) []int32 {
	if n <= 0 {
		return []int32{}
	}
	h := make([]int32, 0, min(n, len(scores)))
	worse := func(a, b int32) bool { // a ranks below b
		return better(scores[b], scores[a], pop[b], pop[a], b, a)
	}
	floor := math.Inf(-1) // the root's score once the heap is full
	for i, s := range scores {
		if s < floor || math.IsInf(s, -1) || (keep != nil && !keep(i)) {
			continue
		}
		switch {
		case len(h) < n:
			h = append(h, int32(i))
			siftUp(h, worse)
		case worse(h[0], int32(i)):
			h[0] = int32(i)
			siftDown(h, 0, worse)
		default:
			continue
		}
		if len(h) == n {
			floor = scores[h[0]]
		}
	}
	out := make([]int32, len(h))
	for k := len(out) - 1; k >= 0; k-- {
		out[k] = h[0]
		h[0] = h[len(h)-1]
		h = h[:len(h)-1]
		siftDown(h, 0, worse)
	}
	return out
}
