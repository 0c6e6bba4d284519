// Package baseline holds what the shop is measured against on the same
// machine in the same run: bare HTTP handlers serving a product's JSON (from
// memory, and from one Redis GET) and a bare Temporal workflow of three
// no-op activities.
package baseline

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a bare handler on a loopback port.
type Server struct {
	URL string
	srv *http.Server
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

func start(h http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String() + "/", srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return s, nil
}

func writeJSON(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// Memory serves body from memory: the fastest a JSON GET can be answered by
// net/http on this machine.
func Memory(body []byte) (*Server, error) {
	return start(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, body) }))
}

// Redis serves the value of key with one Redis GET per request: the
// floor of a read served from a Redis cache.
func Redis(rdb *redis.Client, key string) (*Server, error) {
	return start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := rdb.Get(r.Context(), key).Bytes()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, b)
	}))
}
