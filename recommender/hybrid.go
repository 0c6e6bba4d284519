package recommender

import (
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// freeList keeps scratch buffers for reuse. Unlike sync.Pool it survives
// garbage collections, so a request after a GC does not pay for allocating
// and zeroing catalog-sized arrays again.
type freeList[T any] struct {
	mu   sync.Mutex
	free []*T
	make func() *T
}

func (l *freeList[T]) init(f func() *T) { l.make = f }

func (l *freeList[T]) get() *T {
	l.mu.Lock()
	if n := len(l.free); n > 0 {
		t := l.free[n-1]
		l.free = l.free[:n-1]
		l.mu.Unlock()
		return t
	}
	l.mu.Unlock()
	return l.make()
}

// put returns a buffer. Beyond two spare ones per CPU it is left to the
// GC: more requests than that do not run at once anyway, and each buffer
// can be catalog-sized.
func (l *freeList[T]) put(t *T) {
	l.mu.Lock()
	if len(l.free) < 2*runtime.GOMAXPROCS(0) {
		l.free = append(l.free, t)
	}
	l.mu.Unlock()
}

// Hybrid blends the min-max normalised scores of popular, item-to-item
// (itemknn mixed with ease, EASEMix of it being ease's), als and
// content with weights learned on a validation split. It scores a candidate
// set (items the sparse scorers reach plus the most popular ones) so that the
// latent model's cost does not grow with the catalog.
type Hybrid struct {
	Weights [4]float64 // popular, item-to-item, als, content
	EASEMix float64    // ease's share of the item-to-item component
	// Recency (0: off) halves the weight of a history item in the
	// item-to-item and content components every Recency items the user
	// interacted with after it: the latest interests say most about the next.
	Recency    float64
	Candidates []int32 // the most popular items, always candidates
	Cold       []bool  // items without interactions: only content can rank them

	pop     *Popular
	knn     *ItemKNN
	ease    *EASE
	als     *ALS
	content *Content
	pool    freeList[hybridScratch]
	feats   freeList[features] // Recommend's, reused across requests
}

// coldShare is the fraction of the total weight a cold item's content score
// stands in for, since it can have no collaborative score.
const coldShare = 0.5

// hybridScratch holds catalog-sized accumulators; only the entries a
// request touched are non-zero, and they are reset before reuse.
type hybridScratch struct {
	knn, content, ease []float64
	mark, skip         []bool
}

// features are one user's candidates and their normalised component scores.
type features struct {
	cand  []int32
	comps [4][]float64
	lo    [4]float64 // min and range per component, for Explain
	span  [4]float64

	easeComp         []float64 // ease's scores, mixed into comps[1]
	easeLo, easeSpan float64
	hist             []Entry // the history weighted by recency

	// Filled by featuresInto for Recommend: whether a candidate is excluded,
	// and room for the blended scores and the selection heap.
	skip  []bool
	score []float64
	heap  []int32
	all   []float64
}

func (h *Hybrid) link(p *Popular, k *ItemKNN, a *ALS, c *Content, e *EASE) {
	h.pop, h.knn, h.als, h.content, h.ease = p, k, a, c, e
	n := len(p.Scores)
	h.pool.init(func() *hybridScratch {
		return &hybridScratch{make([]float64, n), make([]float64, n), make([]float64, n), make([]bool, n), make([]bool, n)}
	})
	h.feats.init(func() *features { return &features{} })
}

// features scores the candidates of q with every component. Its cost is
// that of the candidates (the popular ones and the neighbours of the
// history), never the catalog's.
func (h *Hybrid) features(q *Query) *features {
	f := &features{}
	h.featuresInto(q, f, nil)
	return f
}

// featuresInto is features reusing f's buffers; it also flags in f.skip the
// candidates a response must not hold: the user's own items and exclude
// (dense item indices).
func (h *Hybrid) featuresInto(q *Query, f *features, exclude []int32) {
	s := h.pool.get()
	defer h.pool.put(s)
	f.cand = f.cand[:0]
	for _, i := range h.Candidates {
		if !s.mark[i] {
			s.mark[i] = true
			f.cand = append(f.cand, i)
		}
	}
	f.hist = h.recent(q.History, f.hist)
	f.cand = h.knn.N.accumulateTouched(f.hist, s.knn, s.mark, f.cand)
	f.cand = h.content.N.accumulateTouched(f.hist, s.content, s.mark, f.cand)
	mix := h.EASEMix
	if mix > 0 {
		f.cand = h.ease.N.accumulateTouched(f.hist, s.ease, s.mark, f.cand)
	}
	n := len(f.cand)
	f.all = grow(f.all, 5*n)
	f.easeComp = f.all[4*n : 5*n : 5*n]
	for c := range f.comps {
		f.comps[c] = f.all[c*n : (c+1)*n : (c+1)*n]
	}
	for _, e := range q.History {
		s.skip[e.Item] = true
	}
	for _, i := range exclude {
		s.skip[i] = true
	}
	f.skip = grow(f.skip, n)
	for k, i := range f.cand {
		f.comps[0][k] = float64(h.pop.Scores[i])
		f.comps[1][k] = s.knn[i]
		f.comps[3][k] = s.content[i]
		f.easeComp[k] = s.ease[i]
		f.skip[k] = s.skip[i]
		s.knn[i], s.content[i], s.ease[i], s.mark[i] = 0, 0, 0, false
	}
	for _, e := range q.History {
		s.skip[e.Item] = false
	}
	for _, i := range exclude {
		s.skip[i] = false
	}
	h.als.ScoreItems(q, f.cand, f.comps[2])
	for c, v := range f.comps {
		f.lo[c], f.span[c] = normalise(v)
	}
	if mix > 0 {
		f.easeLo, f.easeSpan = normalise(f.easeComp)
		for k, v := range f.easeComp {
			f.comps[1][k] = (1-mix)*f.comps[1][k] + mix*v
		}
	}
}

// recent is hist with each weight scaled by 2^(−r/Recency), r the number
// of the user's items interacted with after it (ties share a rank), into
// buf. Items whose weight that scales by 1/16 or less are dropped: they
// would add candidates, and cost, to a long history and barely change its
// ranking (on MovieLens, NDCG@10 within 0.001 of keeping them all).
func (h *Hybrid) recent(hist []Entry, buf []Entry) []Entry {
	buf = append(buf[:0], hist...)
	if h.Recency <= 0 || len(hist) < 2 {
		return buf
	}
	times := make([]int64, len(hist))
	for k, e := range hist {
		times[k] = e.Last
	}
	slices.Sort(times)
	keep := buf[:0]
	for _, e := range buf {
		after := len(times) - sort.Search(len(times), func(i int) bool { return times[i] > e.Last })
		if float64(after) >= 4*h.Recency {
			continue
		}
		e.Weight *= float32(math.Exp2(-float64(after) / h.Recency))
		keep = append(keep, e)
	}
	return keep
}

// normalise maps v onto [0, 1] by its min and range, which it returns.
func normalise(v []float64) (lo, span float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	span = hi - lo
	if span <= 0 {
		span = 1
	}
	for k := range v {
		v[k] = (v[k] - lo) / span
	}
	return lo, span
}

// grow returns s resized to n, reallocated only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// blend is the hybrid score of the k-th candidate under weights w.
func (h *Hybrid) blend(f *features, k int, w [4]float64) float64 {
	c := &f.comps
	if h.Cold[f.cand[k]] {
		return coldShare * (w[0] + w[1] + w[2] + w[3]) * c[3][k]
	}
	return w[0]*c[0][k] + w[1]*c[1][k] + w[2]*c[2][k] + w[3]*c[3][k]
}

// Name implements Scorer.
func (h *Hybrid) Name() string { return "hybrid" }

// Score implements Scorer.
func (h *Hybrid) Score(q *Query, out []float64) {
	for i := range out {
		out[i] = math.Inf(-1)
	}
	f := h.features(q)
	for k, i := range f.cand {
		out[i] = h.blend(f, k, h.Weights)
	}
	q.hybrid = f
}

// Explain implements Scorer: the evidence of the component contributing
// most to the item's blended score.
func (h *Hybrid) Explain(q *Query, item int) Evidence {
	best, bestV := 0, -1.0
	hist := q.History
	if q.hybrid != nil {
		hist = q.hybrid.hist
	}
	raw := [4]float64{
		float64(h.pop.Scores[item]),
		float64(contribution(&h.knn.N, hist, item)),
		0,
		float64(contribution(&h.content.N, hist, item)),
	}
	if len(q.History) > 0 {
		raw[2] = dot32(h.als.userVector(q), h.als.Y[item*h.als.F:(item+1)*h.als.F])
	}
	f := q.hybrid
	var item2item Scorer = h.knn
	if h.EASEMix > 0 {
		knn, ease := raw[1], contribution(&h.ease.N, hist, item)
		if f != nil {
			knn, ease = (knn-f.lo[1])/f.span[1], (ease-f.easeLo)/f.easeSpan
		}
		knn, ease = (1-h.EASEMix)*knn, h.EASEMix*ease
		if ease > knn {
			item2item = h.ease
		}
		raw[1] = knn + ease
	}
	for c, w := range h.Weights {
		v := w * raw[c]
		if f != nil && !(c == 1 && h.EASEMix > 0) {
			v = w * (raw[c] - f.lo[c]) / f.span[c]
		}
		if h.Cold[item] && c != 3 {
			v = -1
		}
		if v > bestV {
			best, bestV = c, v
		}
	}
	ev := [4]Scorer{h.pop, item2item, h.als, h.content}[best].Explain(q, item)
	return ev
}

func contribution(n *neighbours, hist []Entry, item int) float64 {
	s := 0.0
	for _, e := range hist {
		s += float64(e.Weight) * float64(n.sim(int(e.Item), item))
	}
	return s
}
