package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/config"
	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func get(url string) (int, string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// PPROF_ADDR serves the profiles on its internal address; the public port
// does not have them.
func TestPprofOnlyOnTheInternalAddress(t *testing.T) {
	pool := dbtest.New(t)
	public, internal := freeAddr(t), freeAddr(t)
	env := map[string]string{
		"DATABASE_URL": dbtest.URL(pool), "REDIS_URL": testenv.RedisURL(),
		"TEMPORAL_ADDRESS": testenv.TemporalAddress(), "TEMPORAL_NAMESPACE": testenv.TemporalNamespace(),
		"HTTP_ADDR": public, "PPROF_ADDR": internal,
	}
	cfg, err := config.FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runAPI(ctx, cfg, slog.New(slog.DiscardHandler), nil) }()
	t.Cleanup(func() { cancel(); <-done })

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, body, err := get("http://" + internal + "/debug/pprof/")
		assert.NoError(c, err)
		assert.Equal(c, http.StatusOK, code)
		assert.Contains(c, body, "goroutine")
	}, 30*time.Second, 100*time.Millisecond, "the profiles answer on PPROF_ADDR")
	code, body, err := get("http://" + internal + "/debug/pprof/goroutine?debug=1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "runAPI", "a real goroutine profile of the API process")

	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, _, err := get("http://" + public + "/healthz")
		assert.NoError(c, err)
		assert.Equal(c, http.StatusOK, code)
	}, 30*time.Second, 100*time.Millisecond, "the API answers on its public port")
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
		code, _, err := get("http://" + public + path)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, code, "%s is not on the public port", path)
	}
}

func TestPprofAddrMustNotBeThePublicPort(t *testing.T) {
	_, err := config.FromLookup(func(k string) (string, bool) {
		v, ok := map[string]string{"HTTP_ADDR": ":8000", "PPROF_ADDR": "127.0.0.1:8000"}[k]
		return v, ok
	})
	assert.ErrorContains(t, err, "PPROF_ADDR")
}
