package recommender

import (
	"math"
	"slices"
)

// better orders items best first: by score, then by popularity, then by
// index, as topN does.
func better(sa, sb float64, pa, pb float32, a, b int32) bool {
	if sa != sb {
		return sa > sb
	}
	if pa != pb {
		return pa > pb
	}
	return a < b
}

// pickCandidates returns the positions in cand of the best k items by
// score (sc[n] is cand[n]'s), skipping -Inf and those ok rejects, with at
// most perCat per category (0: no cap). It heapifies the surviving
// candidates once and pops only as many as the cap needs, so its cost is
// linear in the candidates whatever the cap.
// h is room for the heap.
func (m *Model) pickCandidates(cand []int32, sc []float64, k, perCat int, ok func(n int) bool, h []int32) []int32 {
	pop := m.Popular.Scores
	h = h[:0]
	for n := range cand {
		if !math.IsInf(sc[n], -1) && (ok == nil || ok(n)) {
			h = append(h, int32(n))
		}
	}
	less := func(a, b int32) bool { // a ranks above b
		return better(sc[a], sc[b], pop[cand[a]], pop[cand[b]], cand[a], cand[b])
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i, less)
	}
	out := make([]int32, 0, k)
	var caps capCounter
	for len(h) > 0 && len(out) < k {
		best := h[0]
		h[0] = h[len(h)-1]
		h = h[:len(h)-1]
		siftDown(h, 0, less)
		if perCat > 0 && !caps.take(m.Data.Items[cand[best]].CategoryID, perCat) {
			continue
		}
		out = append(out, best)
	}
	return out
}

// capCounter counts results per category; a response has few of them, so
// a slice beats a map.
type capCounter struct {
	cats []int64
	n    []int
}

// take counts one more item of category c unless it already has perCat.
func (c *capCounter) take(cat int64, perCat int) bool {
	if k := slices.Index(c.cats, cat); k >= 0 {
		if c.n[k] >= perCat {
			return false
		}
		c.n[k]++
		return true
	}
	c.cats, c.n = append(c.cats, cat), append(c.n, 1)
	return true
}

// popularOrder is every item, most popular first (ties by index), so that
// popular recommendations walk a precomputed list instead of ranking the
// catalog per request.
func popularOrder(scores []float32) []int32 {
	order := make([]int32, len(scores))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if a == b {
			return 0
		}
		if better(float64(scores[a]), float64(scores[b]), 0, 0, a, b) {
			return -1
		}
		return 1
	})
	return order
}

// excludeIndices maps Exclude's item ids to sorted dense indices.
func (m *Model) excludeIndices(ids []int64) []int32 {
	var ex []int32
	for _, id := range ids {
		if i, ok := m.Data.ItemIndex(id); ok {
			ex = append(ex, int32(i))
		}
	}
	slices.Sort(ex)
	return ex
}

// excluded reports the items a response must not contain: the user's own
// (q.History is sorted by item) and req.Exclude.
func (m *Model) excluded(q *Query, req *Request) func(int32) bool {
	ex := m.excludeIndices(req.Exclude)
	return func(i int32) bool {
		if _, owned := slices.BinarySearchFunc(q.History, i, func(e Entry, t int32) int { return int(e.Item - t) }); owned {
			return true
		}
		_, found := slices.BinarySearch(ex, i)
		return found
	}
}

// walkPopular takes the first k items of the popularity order that are not
// excluded and pass keep, at most perCat per category.
func (m *Model) walkPopular(excluded func(int32) bool, k, perCat int, keep func(int32) bool) []int32 {
	out := make([]int32, 0, k)
	var caps capCounter
	for _, i := range m.popOrder {
		if len(out) == k {
			break
		}
		if excluded(i) || (keep != nil && !keep(i)) {
			continue
		}
		if perCat > 0 && !caps.take(m.Data.Items[i].CategoryID, perCat) {
			continue
		}
		out = append(out, i)
	}
	return out
}
