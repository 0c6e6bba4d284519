package api

import (
	"net/http"

	"github.com/rs/cors"
)

// withCORS lets the configured frontend origins call the API from a
// browser over Connect, gRPC-Web and REST.
func withCORS(origins []string, next http.Handler) http.Handler {
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowedHeaders: []string{
			"Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id",
			"Connect-Protocol-Version", "Connect-Timeout-Ms", "Connect-Accept-Encoding", "Connect-Content-Encoding",
			"Grpc-Timeout", "X-Grpc-Web", "X-User-Agent",
		},
		ExposedHeaders: []string{
			"Retry-After", "X-Request-Id",
			"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin",
		},
		MaxAge: 7200,
	}).Handler(next)
}

// withSecurityHeaders sets the headers every API response should carry.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		next.ServeHTTP(w, r)
	})
}
