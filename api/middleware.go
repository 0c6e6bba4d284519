package api

import (
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/shopkit/shop/internal/telemetry"
)

// maxBodyBytes bounds every request body; larger ones are refused, not read.
const maxBodyBytes = 1 << 20

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// withRequestContext gives every request an ID (the caller's X-Request-Id
// when it is sane), logs one access line, and turns a panic into a 500
// instead of a dropped connection.
func withRequestContext(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			id = telemetry.NewRequestID()
		}
		ctx := telemetry.WithRequestID(r.Context(), id)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		if r.ContentLength > maxBodyBytes {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{
				"code": "invalid_argument", "message": "request body is larger than 1 MiB"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		// Read before the handler: REST transcoding rewrites the URL.
		method, path := r.Method, r.URL.Path
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "panic", "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeJSON(rec, http.StatusInternalServerError, map[string]any{
						"code": "internal", "message": "internal error; quote request id " + id})
				}
			}
			if path == "/healthz" || path == "/readyz" {
				return
			}
			log.InfoContext(ctx, "request", "method", method, "path", path,
				"status", rec.status, "duration_ms", time.Since(start).Milliseconds(),
				"protocol", r.Proto, "remote", r.RemoteAddr)
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Flush and Unwrap keep streaming and http.ResponseController working.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
