package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// Check probes one dependency; nil means healthy.
type Check func(ctx context.Context) error

// readyHandler answers 200 when every check passes, else 503 naming the
// failures. The optional checks are reported ("degraded" lists the failing
// ones) but never fail readiness: a dependency that only some features use
// (product images) must not take every instance out of rotation, checkout
// included.
func readyHandler(checks, optional map[string]Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		var mu sync.Mutex
		var wg sync.WaitGroup
		status := map[string]string{}
		ok := true
		degraded := []string{}
		run := func(name string, check Check, required bool) {
			defer wg.Done()
			res := "ok"
			if err := check(ctx); err != nil {
				res = err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			status[name] = res
			switch {
			case res == "ok":
			case required:
				ok = false
			default:
				degraded = append(degraded, name)
			}
		}
		for name, check := range checks {
			wg.Add(1)
			go run(name, check, true)
		}
		for name, check := range optional {
			wg.Add(1)
			go run(name, check, false)
		}
		wg.Wait()
		code := http.StatusOK
		if !ok {
			code = http.StatusServiceUnavailable
		}
		slices.Sort(degraded)
		writeJSON(w, code, map[string]any{"ready": ok, "checks": status, "degraded": degraded})
	})
}

func liveHandler(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// notFound answers unknown routes in the REST error shape.
func notFound(w http.ResponseWriter, r *http.Request) {
	writeRESTError(w, http.StatusNotFound, connect.NewError(connect.CodeNotFound,
		errors.New("no route for "+r.Method+" "+r.URL.Path)))
}
