package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

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
		// A body over the limit answers 413 for REST and Connect, whether its
		// Content-Length says so or it is cut off while read. gRPC and
		// gRPC-Web answer in their own status (ResourceExhausted) instead.
		grpc := isGRPC(r)
		ownLimit := ownsBodyLimit(r) // the image upload bounds its own body
		if r.ContentLength > maxBodyBytes && !grpc && !ownLimit {
			writeBodyTooLarge(w, r.URL.Path)
			return
		}
		// Read before the handler: REST transcoding rewrites the URL.
		method, path := r.Method, r.URL.Path
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		body := &limitedBody{ReadCloser: r.Body}
		if !ownLimit {
			body.ReadCloser = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		r.Body = body
		var out http.ResponseWriter = rec
		if !grpc && !ownLimit {
			out = &tooLargeWriter{ResponseWriter: rec, body: body, path: path}
		}
		defer func() {
			if p := recover(); p != nil {
				log.ErrorContext(ctx, "panic", "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeHTTPError(rec, path, http.StatusInternalServerError, connect.CodeInternal,
						"internal error; quote request id "+id)
				}
			}
			if path == "/healthz" || path == "/readyz" {
				return
			}
			log.InfoContext(ctx, "request", "method", method, "path", path,
				"status", rec.status, "duration_ms", time.Since(start).Milliseconds(),
				"protocol", r.Proto, "remote", r.RemoteAddr)
		}()
		next.ServeHTTP(out, r)
		if tl, ok := out.(*tooLargeWriter); ok {
			tl.takeOver() // a handler that answered nothing at all
		}
	})
}

func writeBodyTooLarge(w http.ResponseWriter, path string) {
	writeHTTPError(w, path, http.StatusRequestEntityTooLarge, connect.CodeInvalidArgument, "request body is larger than 1 MiB")
}

// isGRPC says whether r speaks gRPC or gRPC-Web.
func isGRPC(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc")
}

// limitedBody notes when the request body ran past maxBodyBytes.
type limitedBody struct {
	io.ReadCloser
	exceeded atomic.Bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.exceeded.Store(true)
	}
	return n, err
}

// tooLargeWriter answers 413 in place of whatever the handler answers once
// the body ran past the limit: Connect reports that as ResourceExhausted
// (429) and the REST transcoder as an internal error.
type tooLargeWriter struct {
	http.ResponseWriter
	body    *limitedBody
	path    string // the request's path, which picks the error format
	passed  bool   // the handler's answer has started
	replied bool   // the 413 is written; the handler's answer is dropped
}

// takeOver writes the 413 if the body ran past the limit before the
// handler's answer started, and says whether the handler's answer is dropped.
func (t *tooLargeWriter) takeOver() bool {
	if !t.replied && !t.passed && t.body.exceeded.Load() {
		t.replied = true
		h := t.ResponseWriter.Header()
		h.Del("Content-Length")
		h.Del("Content-Encoding")
		writeBodyTooLarge(t.ResponseWriter, t.path)
	}
	return t.replied
}

func (t *tooLargeWriter) WriteHeader(code int) {
	if t.takeOver() {
		return
	}
	t.passed = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *tooLargeWriter) Write(b []byte) (int, error) {
	if t.takeOver() {
		return len(b), nil
	}
	t.passed = true
	return t.ResponseWriter.Write(b)
}

func (t *tooLargeWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok && !t.replied {
		f.Flush()
	}
}

func (t *tooLargeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

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
