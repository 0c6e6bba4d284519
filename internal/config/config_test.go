package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaultsAreValid(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	require.NoError(t, err)
	assert.Equal(t, ":8000", c.HTTPAddr)
	assert.Equal(t, "postgres", c.SearchBackend)
	assert.Equal(t, int32(20), c.DatabaseMaxConns)
}

func TestErrorsNameEveryBadVariable(t *testing.T) {
	_, err := FromLookup(lookup(map[string]string{
		"HTTP_ADDR":          "8000",
		"DATABASE_URL":       "mysql://u:hunter2@h/db",
		"SEARCH_BACKEND":     "solr",
		"DATABASE_MAX_CONNS": "0",
		"SHUTDOWN_TIMEOUT":   "soon",
		"LOG_LEVEL":          "loud",
	}))
	require.Error(t, err)
	msg := err.Error()
	for _, name := range []string{"HTTP_ADDR", "DATABASE_URL", "SEARCH_BACKEND", "DATABASE_MAX_CONNS", "SHUTDOWN_TIMEOUT", "LOG_LEVEL"} {
		assert.Contains(t, msg, name)
	}
	assert.NotContains(t, msg, "hunter2", "passwords must not leak into errors")
}

func TestProductionNeedsARealStripeKey(t *testing.T) {
	_, err := FromLookup(lookup(map[string]string{"APP_ENV": "production"}))
	require.ErrorContains(t, err, "STRIPE_SECRET_KEY")
}

func TestStringMasksSecrets(t *testing.T) {
	c, err := FromLookup(lookup(map[string]string{
		"DATABASE_URL":      "postgres://shop:topsecret@db:5432/shop",
		"STRIPE_SECRET_KEY": "sk_live_abcdefghijklmnop",
	}))
	require.NoError(t, err)
	s := c.String()
	assert.False(t, strings.Contains(s, "topsecret") || strings.Contains(s, "abcdefghijklmnop"), s)
}

func TestSigningKeys(t *testing.T) {
	secret := "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0NTY3OA==" // 40 bytes
	c, err := FromLookup(lookup(map[string]string{"JWT_SIGNING_KEYS": "k1:" + secret + ", k2:" + secret, "JWT_ACTIVE_KEY_ID": "k2"}))
	require.NoError(t, err)
	assert.Len(t, c.JWTKeys, 2)
	assert.Equal(t, "k2", c.JWTActiveKey)

	_, err = FromLookup(lookup(map[string]string{"JWT_SIGNING_KEYS": "k1:c2hvcnQ="}))
	require.ErrorContains(t, err, "JWT_SIGNING_KEYS")
	assert.NotContains(t, err.Error(), "c2hvcnQ=", "secrets never appear in errors")

	_, err = FromLookup(lookup(map[string]string{"JWT_SIGNING_KEYS": "k1:" + secret, "JWT_ACTIVE_KEY_ID": "k9"}))
	require.ErrorContains(t, err, "JWT_ACTIVE_KEY_ID")

	_, err = FromLookup(lookup(map[string]string{"APP_ENV": "production", "STRIPE_SECRET_KEY": "sk_live_x"}))
	require.ErrorContains(t, err, "JWT_SIGNING_KEYS")
}

func TestTaxConfigNamesRealPlaces(t *testing.T) {
	for name, v := range map[string]string{
		"DEFAULT_COUNTRY": "ZZ",
		"TAX_RATES":       "US-CA:7.25,GB-SCT:20",
	} {
		_, err := FromLookup(lookup(map[string]string{name: v}))
		require.ErrorContains(t, err, name, v)
	}
	c, err := FromLookup(lookup(map[string]string{"TAX_RATES": "US-CA:7.25,PR:11.5", "DEFAULT_COUNTRY": "de"}))
	require.NoError(t, err)
	assert.Equal(t, "DE", c.DefaultCountry)
	assert.Equal(t, int64(115000), c.TaxRates.Rate("US", "PR"))
}

func TestCartReminderSettings(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Hour, 24 * time.Hour}, c.CartReminderAfter)

	c, err = FromLookup(lookup(map[string]string{"CART_REMINDER_AFTER": "1s, 2s"}))
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, c.CartReminderAfter)

	for _, bad := range []string{"2h,1h", "soon", "0s", "1h,1h"} {
		_, err := FromLookup(lookup(map[string]string{"CART_REMINDER_AFTER": bad}))
		assert.ErrorContains(t, err, "CART_REMINDER_AFTER", bad)
	}
	_, err = FromLookup(lookup(map[string]string{"CART_REMINDER_SECRET": "short"}))
	assert.ErrorContains(t, err, "CART_REMINDER_SECRET")
	_, err = FromLookup(lookup(map[string]string{"APP_ENV": "production"}))
	assert.ErrorContains(t, err, "CART_REMINDER_SECRET")
}

func TestCarrierSettings(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	require.NoError(t, err)
	assert.NotEmpty(t, c.CarrierWebhookSecret, "a development secret signs local events")
	assert.Empty(t, c.CarrierTrackingURL, "no tracking links unless configured")
	assert.NotContains(t, c.String(), c.CarrierWebhookSecret)

	c, err = FromLookup(lookup(map[string]string{"CARRIER_TRACKING_URL": "https://track.example.com/t?n={tracking_number}"}))
	require.NoError(t, err)
	assert.Equal(t, "https://track.example.com/t?n={tracking_number}", c.CarrierTrackingURL)

	for _, bad := range []string{"track.example.com/{tracking_number}", "ftp://h/{tracking_number}", "https://track.example.com/"} {
		_, err := FromLookup(lookup(map[string]string{"CARRIER_TRACKING_URL": bad}))
		assert.ErrorContains(t, err, "CARRIER_TRACKING_URL", bad)
	}
	_, err = FromLookup(lookup(map[string]string{"APP_ENV": "production"}))
	assert.ErrorContains(t, err, "CARRIER_WEBHOOK_SECRET")
}

func TestEventSettings(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	require.NoError(t, err)
	assert.Equal(t, 9600*time.Hour, c.EventRetention)
	assert.Contains(t, c.RateLimits, "events=", "the event ingestion has a limit of its own")

	c, err = FromLookup(lookup(map[string]string{"EVENT_RETENTION": "2160h"}))
	require.NoError(t, err)
	assert.Equal(t, 90*24*time.Hour, c.EventRetention)
	for _, bad := range []string{"1h", "forever", "-24h"} {
		_, err := FromLookup(lookup(map[string]string{"EVENT_RETENTION": bad}))
		assert.ErrorContains(t, err, "EVENT_RETENTION", bad)
	}
}

func TestMetricsAddresses(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	require.NoError(t, err)
	assert.Empty(t, c.MetricsAddr, "the API serves /metrics on its own port")
	assert.Empty(t, c.RecommenderMetricsAddr)
	assert.Equal(t, ":9464", c.WorkerMetricsAddr)

	c, err = FromLookup(lookup(map[string]string{"METRICS_ADDR": "10.0.0.5:9464", "WORKER_METRICS_ADDR": "off"}))
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.5:9464", c.MetricsAddr)
	assert.Empty(t, c.WorkerMetricsAddr, "off: the worker serves none")
	for _, name := range []string{"METRICS_ADDR", "RECOMMENDER_METRICS_ADDR", "WORKER_METRICS_ADDR"} {
		_, err := FromLookup(lookup(map[string]string{name: "9464"}))
		assert.ErrorContains(t, err, name)
	}
}

func TestReadReplica(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	require.NoError(t, err)
	assert.Empty(t, c.DatabaseReadURL, "no replica by default: every read goes to the primary")
	assert.Equal(t, time.Second, c.DatabaseReadMaxLag)

	c, err = FromLookup(lookup(map[string]string{
		"DATABASE_READ_URL": "postgres://shop:topsecret@replica:5432/shop", "DATABASE_READ_MAX_LAG": "3s", "DATABASE_READ_MAX_CONNS": "40",
	}))
	require.NoError(t, err)
	assert.Equal(t, "postgres://shop:topsecret@replica:5432/shop", c.DatabaseReadURL)
	assert.Equal(t, 3*time.Second, c.DatabaseReadMaxLag)
	assert.Equal(t, int32(40), c.DatabaseReadMaxConns)
	assert.NotContains(t, c.String(), "topsecret")
	assert.Contains(t, c.String(), "reads=postgres://shop:xxxxx@replica:5432/shop")

	_, err = FromLookup(lookup(map[string]string{
		"DATABASE_READ_URL": "mysql://u:hunter2@h/db", "DATABASE_READ_MAX_LAG": "10ms", "DATABASE_READ_MAX_CONNS": "0",
	}))
	require.Error(t, err)
	for _, name := range []string{"DATABASE_READ_URL", "DATABASE_READ_MAX_LAG", "DATABASE_READ_MAX_CONNS"} {
		assert.Contains(t, err.Error(), name)
	}
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestPprofAddresses(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060", "10.0.0.5:6060", "off", ""} {
		c, err := FromLookup(lookup(map[string]string{"PPROF_ADDR": ok, "WORKER_PPROF_ADDR": ok}))
		require.NoError(t, err, ok)
		if ok != "off" {
			assert.Equal(t, ok, c.PprofAddr)
			assert.Equal(t, ok, c.WorkerPprofAddr)
		}
	}
	for _, everywhere := range []string{":6060", "0.0.0.0:6060", "[::]:6060"} {
		for _, name := range []string{"PPROF_ADDR", "WORKER_PPROF_ADDR"} {
			_, err := FromLookup(lookup(map[string]string{name: everywhere}))
			require.ErrorContains(t, err, name, everywhere)
			assert.ErrorContains(t, err, "every interface", everywhere)
		}
	}
	clashes := []map[string]string{
		{"PPROF_ADDR": "127.0.0.1:8000"}, // HTTP_ADDR's default port
		{"PPROF_ADDR": "127.0.0.1:9100", "METRICS_ADDR": "127.0.0.1:9100"},
		{"WORKER_PPROF_ADDR": "127.0.0.1:9464"}, // WORKER_METRICS_ADDR's default port
	}
	for _, env := range clashes {
		_, err := FromLookup(lookup(env))
		for name := range env {
			if strings.Contains(name, "PPROF") {
				assert.ErrorContains(t, err, name, env)
				assert.ErrorContains(t, err, "of its own", env)
			}
		}
	}
	_, err := FromLookup(lookup(map[string]string{"WORKER_PPROF_ADDR": "127.0.0.1:9464", "WORKER_METRICS_ADDR": "off"}))
	assert.NoError(t, err, "no clash with metrics off")
}

func TestImageSettings(t *testing.T) {
	c, err := FromLookup(lookup(nil))
	require.NoError(t, err)
	assert.Equal(t, "fs", c.ImageStore)
	assert.Equal(t, int64(10<<20), c.ImageMaxBytes)
	assert.Equal(t, int64(40_000_000), c.ImageMaxPixels)

	_, err = FromLookup(lookup(map[string]string{"IMAGE_STORE": "s3"}))
	require.Error(t, err)
	for _, name := range []string{"S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"} {
		assert.ErrorContains(t, err, name)
	}
	_, err = FromLookup(lookup(map[string]string{"IMAGE_STORE": "gcs", "IMAGE_MAX_BYTES": "0", "S3_ENDPOINT": "ftp://x"}))
	for _, name := range []string{"IMAGE_STORE", "IMAGE_MAX_BYTES", "S3_ENDPOINT"} {
		assert.ErrorContains(t, err, name)
	}

	c, err = FromLookup(lookup(map[string]string{"IMAGE_STORE": "s3", "S3_ENDPOINT": "http://127.0.0.1:9000",
		"S3_ACCESS_KEY_ID": "shop", "S3_SECRET_ACCESS_KEY": "s3-secret-value-xyz"}))
	require.NoError(t, err)
	assert.True(t, c.S3ForcePathStyle)
	assert.NotContains(t, c.String(), "s3-secret-value-xyz")
}
