package journey

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Func is one journey.
type Func func(ctx context.Context, r *rand.Rand) error

// Step is a journey with its share of the mix.
type Step struct {
	Name   string
	Weight int // relative; e.g. percent
	Run    Func
}

// Mix picks journeys in proportion to their weights.
type Mix []Step

// DefaultMix is the storefront's traffic: browse 60 %, search 20 %, cart
// 15 %, checkout 5 %.
func DefaultMix(e *Env) Mix {
	return Mix{
		{Name: "browse", Weight: 60, Run: e.Browse},
		{Name: "search", Weight: 20, Run: e.Search},
		{Name: "cart", Weight: 15, Run: e.Cart},
		{Name: "checkout", Weight: 5, Run: e.Checkout},
	}
}

// Pick returns a step chosen with probability weight/total.
func (m Mix) Pick(r *rand.Rand) Step {
	total := 0
	for _, s := range m {
		total += s.Weight
	}
	n := r.IntN(total)
	for _, s := range m {
		if n < s.Weight {
			return s
		}
		n -= s.Weight
	}
	return m[len(m)-1]
}

// Result of one journey run by Loop.
type Result struct {
	Journey string
	Start   time.Time
	Elapsed time.Duration
	Err     error
}

// Loop runs the mix with workers closed-loop workers (each starts its next
// journey when the last one ends) until ctx ends, reporting every finished
// journey to report (which must be safe for concurrent use; nil: ignored).
// Each worker has its own random source derived from seed.
func Loop(ctx context.Context, m Mix, workers int, seed uint64, report func(Result)) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				s := m.Pick(r)
				start := time.Now()
				err := s.Run(ctx, r)
				if ctx.Err() != nil {
					return // cut short by the end of the run: not an outcome
				}
				if report != nil {
					report(Result{Journey: s.Name, Start: start, Elapsed: time.Since(start), Err: err})
				}
			}
		})
	}
	wg.Wait()
}

// LoopFor is Loop for slow journeys: workers start journeys for d, and the
// journeys under way at the end run to completion and are reported, so a
// journey longer than d is still measured. ctx cancels everything.
func LoopFor(ctx context.Context, m Mix, workers int, seed uint64, d time.Duration, report func(Result)) {
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil && time.Now().Before(deadline) {
				s := m.Pick(r)
				start := time.Now()
				err := s.Run(ctx, r)
				if report != nil && ctx.Err() == nil {
					report(Result{Journey: s.Name, Start: start, Elapsed: time.Since(start), Err: err})
				}
			}
		})
	}
	wg.Wait()
}
