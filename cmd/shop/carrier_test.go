package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/carrier"
)

// What `shop carrier trigger` sends is an event the webhook reads back as
// it was given, with the status before or after the flags.
func TestCarrierTriggerEvent(t *testing.T) {
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	const local = "http://127.0.0.1:8000/webhooks/carrier"
	for _, args := range [][]string{
		{"trigger", "delivered", "--tracking", "1Z 999", "--event-id", "evt_same", "--description", "Left at the door"},
		{"trigger", "--tracking", "1Z 999", "--event-id", "evt_same", "--description", "Left at the door", "delivered"},
	} {
		ev, url, err := carrierEvent(args, local, now)
		require.NoError(t, err, args)
		assert.Equal(t, local, url)
		body, err := json.Marshal(ev)
		require.NoError(t, err)
		read, err := carrier.ParseEvent(body)
		require.NoError(t, err, string(body))
		assert.Equal(t, "evt_same", read.ID)
		assert.Equal(t, carrier.Tracking{Carrier: "manual", TrackingNumber: "1Z 999", Status: "delivered",
			Description: "Left at the door", OccurredAt: now}, read.Data)
	}

	ev, url, err := carrierEvent([]string{"trigger", "in_transit", "--tracking", "T1", "--carrier", "acme",
		"--url", "http://shop.test/webhooks/carrier"}, local, now)
	require.NoError(t, err)
	assert.Equal(t, "http://shop.test/webhooks/carrier", url)
	assert.Equal(t, "acme", ev.Data.Carrier)
	assert.True(t, strings.HasPrefix(ev.ID, "evt_"), "a fresh id unless one is given")
	other, _, err := carrierEvent([]string{"trigger", "in_transit", "--tracking", "T1"}, local, now)
	require.NoError(t, err)
	assert.NotEqual(t, ev.ID, other.ID)

	for _, args := range [][]string{nil, {"trigger"}, {"trigger", "delivered"}, {"trigger", "lost", "--tracking", "T1"},
		{"send", "delivered", "--tracking", "T1"}} {
		_, _, err := carrierEvent(args, local, now)
		assert.ErrorContains(t, err, "statuses: in_transit, out_for_delivery, delivered, exception", args)
	}
}
