package carrier

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/validation"
)

// field answers the field a validation error names, or "" for another error.
func field(err error) string {
	var v *validation.Error
	if errors.As(err, &v) {
		return v.Field
	}
	return ""
}

func TestCarrierManualLabel(t *testing.T) {
	ctx := context.Background()
	m := Manual{TrackingURL: "https://tracking.example.com/{tracking_number}?ref=shop"}
	l, err := m.BookLabel(ctx, LabelRequest{ShipmentID: 1, OrderID: 2, TrackingNumber: "  1Z 99/a?b&c=d#e  ", Service: "express"})
	require.NoError(t, err)
	assert.Equal(t, "1Z 99/a?b&c=d#e", l.TrackingNumber)
	assert.Equal(t, "https://tracking.example.com/1Z%2099%2Fa%3Fb%26c%3Dd%23e?ref=shop", l.TrackingURL,
		"the number stays one path segment")
	assert.Equal(t, "express", l.Service)

	l, err = Manual{}.BookLabel(ctx, LabelRequest{TrackingNumber: "TN1"})
	require.NoError(t, err)
	assert.Empty(t, l.TrackingURL, "no template, no link")

	for _, tn := range []string{"", "   ", strings.Repeat("9", 101), "a\x00b", "\xff"} {
		_, err := m.BookLabel(ctx, LabelRequest{TrackingNumber: tn})
		assert.Equal(t, "tracking_number", field(err), "%q: %v", tn, err)
	}
}

func TestCarrierLookup(t *testing.T) {
	cs := NewCarriers(Manual{})
	c, err := cs.Lookup(" Manual ")
	require.NoError(t, err)
	assert.Equal(t, ManualName, c.Name())
	_, err = cs.Lookup("dhl")
	assert.Equal(t, "carrier", field(err))
	assert.ErrorContains(t, err, "dhl")
}

const secret = "carrier_test_secret"

func TestCarrierSignVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	sig := Sign(body, secret, now)
	assert.Regexp(t, `^t=1700000000,v1=[0-9a-f]{64}$`, sig)
	require.NoError(t, Verify(body, sig, secret, now))
	require.NoError(t, Verify(body, sig, secret, now.Add(Tolerance)), "at the tolerance")
	require.NoError(t, Verify(body, sig, secret, now.Add(-Tolerance)), "a clock a little behind")

	// While the carrier rotates its secret it signs with both.
	old := Sign(body, "old_secret", now)
	rotating := sig + "," + old[strings.Index(old, "v1="):]
	require.NoError(t, Verify(body, rotating, secret, now))
	require.NoError(t, Verify(body, rotating, "old_secret", now))
	require.NoError(t, Verify(body, sig+",v0=ignored", secret, now), "other schemes are ignored")

	for name, c := range map[string]struct {
		body   []byte
		header string
		secret string
		now    time.Time
	}{
		"tampered body":     {[]byte(`{"id":"evt_2"}`), sig, secret, now},
		"wrong secret":      {body, sig, "another", now},
		"no secret":         {body, Sign(body, "", now), "", now},
		"expired":           {body, sig, secret, now.Add(Tolerance + time.Second)},
		"future":            {body, sig, secret, now.Add(-Tolerance - time.Second)},
		"empty header":      {body, "", secret, now},
		"no timestamp":      {body, sig[strings.Index(sig, "v1="):], secret, now},
		"no v1":             {body, "t=1700000000", secret, now},
		"bad timestamp":     {body, strings.Replace(sig, "t=1700000000", "t=soon", 1), secret, now},
		"two timestamps":    {body, "t=1700000000," + sig, secret, now},
		"v1 not hex":        {body, "t=1700000000,v1=zz", secret, now},
		"part without =":    {body, sig + ",junk", secret, now},
		"signature of t=0":  {body, Sign(body, secret, time.Unix(0, 0)), secret, now},
		"truncated v1":      {body, sig[:len(sig)-2], secret, now},
		"other scheme only": {body, strings.Replace(sig, "v1=", "v0=", 1), secret, now},
	} {
		err := Verify(c.body, c.header, c.secret, c.now)
		assert.ErrorIs(t, err, ErrSignature, name)
	}
	assert.ErrorContains(t, Verify(body, sig, secret, now.Add(time.Hour)), "too old")
	assert.ErrorContains(t, Verify(body, sig, secret, now.Add(-time.Hour)), "in the future")
}

// event answers an event body; json.Marshal escapes a NUL as \u0000, as
// a carrier's JSON encoder would.
func event(id, typ, carrier, tn, status, desc, at string) []byte {
	b, err := json.Marshal(map[string]any{"id": id, "type": typ, "created": 1700000000, "livemode": true,
		"data": map[string]string{"carrier": carrier, "tracking_number": tn, "status": status,
			"description": desc, "occurred_at": at}})
	if err != nil {
		panic(err)
	}
	return b
}

func TestCarrierParseEvent(t *testing.T) {
	ev, err := ParseEvent(event(" evt_1 ", "tracking.updated", "Manual", " TN1 ", "out_for_delivery", "With the driver",
		"2024-05-01T09:30:00.5+02:00"))
	require.NoError(t, err)
	assert.Equal(t, "evt_1", ev.ID)
	assert.Equal(t, int64(1_700_000_000), ev.Created)
	assert.Equal(t, Tracking{Carrier: "manual", TrackingNumber: "TN1", Status: "out_for_delivery",
		Description: "With the driver", OccurredAt: ev.Data.OccurredAt}, ev.Data)
	assert.True(t, ev.Data.OccurredAt.Equal(time.Date(2024, 5, 1, 7, 30, 0, 5e8, time.UTC)))
	assert.Equal(t, fulfilment.Scan{EventID: "evt_1", Kind: fulfilment.ScanOutForDelivery, Description: "With the driver",
		OccurredAt: ev.Data.OccurredAt}, ev.Scan())

	at := "2024-05-01T09:30:00Z"
	for name, c := range map[string]struct {
		body  []byte
		field string
	}{
		"no id":              {event("", "tracking.updated", "manual", "TN1", "delivered", "", at), "id"},
		"long id":            {event(strings.Repeat("e", 201), "tracking.updated", "manual", "TN1", "delivered", "", at), "id"},
		"unknown type":       {event("evt", "tracking.deleted", "manual", "TN1", "delivered", "", at), "type"},
		"no type":            {event("evt", "", "manual", "TN1", "delivered", "", at), "type"},
		"no carrier":         {event("evt", "tracking.updated", "", "TN1", "delivered", "", at), "data.carrier"},
		"no tracking number": {event("evt", "tracking.updated", "manual", " ", "delivered", "", at), "data.tracking_number"},
		"long tracking":      {event("evt", "tracking.updated", "manual", strings.Repeat("9", 101), "delivered", "", at), "data.tracking_number"},
		"unknown status":     {event("evt", "tracking.updated", "manual", "TN1", "lost", "", at), "data.status"},
		"no status":          {event("evt", "tracking.updated", "manual", "TN1", "", "", at), "data.status"},
		"long description":   {event("evt", "tracking.updated", "manual", "TN1", "delivered", strings.Repeat("d", 1001), at), "data.description"},
		"no occurred_at":     {event("evt", "tracking.updated", "manual", "TN1", "delivered", "", ""), "data.occurred_at"},
		"bad occurred_at":    {event("evt", "tracking.updated", "manual", "TN1", "delivered", "", "yesterday"), "data.occurred_at"},
		"NUL in id":          {event("evt\x00", "tracking.updated", "manual", "TN1", "delivered", "", at), "id"},
		"NUL in tracking":    {event("evt", "tracking.updated", "manual", "TN\x001", "delivered", "", at), "data.tracking_number"},
		"NUL in description": {event("evt", "tracking.updated", "manual", "TN1", "delivered", "a\x00b", at), "data.description"},
		"NUL in carrier":     {event("evt", "tracking.updated", "man\x00ual", "TN1", "delivered", "", at), "data.carrier"},
	} {
		_, err := ParseEvent(c.body)
		assert.Equal(t, c.field, field(err), "%s: %v", name, err)
	}
	for name, body := range map[string]string{
		"not JSON":          `{"id": "evt", "type": "tracking.upd`,
		"data not object":   `{"id": "evt", "type": "tracking.updated", "data": "TN1"}`,
		"invalid UTF-8":     "{\"id\": \"evt\xff\", \"type\": \"tracking.updated\"}",
		"raw NUL byte":      "{\"id\": \"evt\x00\", \"type\": \"tracking.updated\"}",
		"number as string":  `{"id": 7, "type": "tracking.updated"}`,
		"created as string": `{"id": "evt", "type": "tracking.updated", "created": "now"}`,
	} {
		_, err := ParseEvent([]byte(body))
		assert.Error(t, err, name)
		assert.Empty(t, field(err), name)
	}
}
