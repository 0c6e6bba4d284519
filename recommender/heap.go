package recommender

// The rankers keep binary heaps in plain slices (no container/heap
// interface boxing on the hot path); before(a, b) says a belongs nearer the
// root than b.

// siftDown moves h[i] down to its place.
func siftDown[T any](h []T, i int, before func(a, b T) bool) {
	for {
		l, m := 2*i+1, i
		if l < len(h) && before(h[l], h[m]) {
			m = l
		}
		if l+1 < len(h) && before(h[l+1], h[m]) {
			m = l + 1
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// siftUp moves the last element of h up to its place.
func siftUp[T any](h []T, before func(a, b T) bool) {
	for i := len(h) - 1; i > 0 && before(h[i], h[(i-1)/2]); i = (i - 1) / 2 {
		h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
	}
}
