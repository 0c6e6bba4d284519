package recommender

import (
	"runtime"
	"sync"
)

// parallel runs f(i) for i in [0, n) on up to workers goroutines, each with
// its own worker number for scratch buffers. Work is split by index, so the
// result does not depend on scheduling.
func parallel(n, workers int, f func(worker, i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(w, i)
			}
		}()
	}
	wg.Wait()
}
