package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/shopkit/shop/gen/shop/events/v1"
	"github.com/shopkit/shop/gen/shop/events/v1/eventsv1connect"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/ratelimit"
)

const browserUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// postEvents sends body to POST /api/events as a browser (or as ua).
func postEvents(t *testing.T, f *fixture, token, ua, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", f.url+"/api/events", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", ua)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), "%d %s", res.StatusCode, b)
	return res.StatusCode, out
}

type storedEvent struct {
	Kind      string
	User      *int64
	Product   *int64
	Quantity  *int32
	Query     *string
	Occurred  time.Time
	SessionID string
}

func storedEvents(t *testing.T, f *fixture, session string) []storedEvent {
	t.Helper()
	rows, err := f.shop.Pool.Query(context.Background(), `SELECT kind, user_id, product_id, quantity, query, occurred_at, session_id
		FROM behaviour_events WHERE session_id = $1 ORDER BY id`, session)
	require.NoError(t, err)
	defer rows.Close()
	var out []storedEvent
	for rows.Next() {
		var e storedEvent
		require.NoError(t, rows.Scan(&e.Kind, &e.User, &e.Product, &e.Quantity, &e.Query, &e.Occurred, &e.SessionID))
		out = append(out, e)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestRecordEventsOverREST(t *testing.T) {
	f := newServer(t, nil)
	laptop := fmt.Sprint(f.laptop.ID)
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	// Anonymous: no user; a time within the last day is kept, a future one
	// is replaced by the server's clock.
	batch := `{"session_id":"anon-session-1","events":[
		{"event_id":"e1","type":"view","product_id":` + laptop + `,"occurred_at":"` + at.Format(time.RFC3339) + `"},
		{"event_id":"e2","type":"search","query":"  gaming laptop "},
		{"event_id":"e3","type":"add_to_cart","product_id":` + laptop + `,"quantity":2,"occurred_at":"2999-01-01T00:00:00Z"}]}`
	code, out := postEvents(t, f, "", browserUA, batch)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 3, out["accepted"])
	assert.EqualValues(t, 2, out["clamped"], "one without a time, one in the future")
	got := storedEvents(t, f, "anon-session-1")
	require.Len(t, got, 3)
	assert.Equal(t, []string{"view", "search", "add_to_cart"}, []string{got[0].Kind, got[1].Kind, got[2].Kind})
	assert.Nil(t, got[0].User)
	assert.Equal(t, f.laptop.ID, *got[0].Product)
	assert.True(t, at.Equal(got[0].Occurred), "%s != %s", at, got[0].Occurred)
	assert.Equal(t, "gaming laptop", *got[1].Query, "trimmed")
	assert.EqualValues(t, 2, *got[2].Quantity)
	assert.WithinDuration(t, time.Now(), got[2].Occurred, time.Minute)

	// The same batch again (a client's retry) is taken and stored once.
	code, out = postEvents(t, f, "", browserUA, batch)
	require.Equal(t, http.StatusOK, code, out)
	assert.EqualValues(t, 3, out["accepted"])
	assert.EqualValues(t, 3, out["duplicates"])
	assert.Len(t, storedEvents(t, f, "anon-session-1"), 3)

	// Signed in: the user comes from the token.
	token := session(t, f, "shopper", identity.RoleCustomer)
	me, err := f.identity.Authenticate(context.Background(), token)
	require.NoError(t, err)
	code, out = postEvents(t, f, token, browserUA, `{"session_id":"user-session-1","events":[{"event_id":"v1","type":"view","product_id":`+laptop+`}]}`)
	require.Equal(t, http.StatusOK, code, out)
	got = storedEvents(t, f, "user-session-1")
	require.Len(t, got, 1)
	require.NotNil(t, got[0].User)
	assert.Equal(t, me.UserID, *got[0].User)
	// A user id in the body is no field of the request: ignored.
	code, out = postEvents(t, f, token, browserUA, `{"session_id":"user-session-1","user_id":1,"events":[{"event_id":"v2","type":"view","product_id":`+laptop+`,"user_id":1}]}`)
	require.Equal(t, http.StatusOK, code, out)
	got = storedEvents(t, f, "user-session-1")
	require.Len(t, got, 2)
	assert.Equal(t, me.UserID, *got[1].User, "the token's user, never the body's")

	// Bots are answered, so they do not retry, and dropped.
	for _, ua := range []string{"", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)"} {
		code, out = postEvents(t, f, "", ua, `{"session_id":"bot-session-1","events":[{"event_id":"b1","type":"view","product_id":`+laptop+`}]}`)
		require.Equal(t, http.StatusOK, code, "%q: %v", ua, out)
		assert.EqualValues(t, 1, out["dropped"], ua)
		assert.EqualValues(t, 0, out["accepted"], ua)
	}
	assert.Empty(t, storedEvents(t, f, "bot-session-1"))

	// Bad input: 400 naming the field, nothing stored.
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf(`{"event_id":"m%d","type":"view","product_id":%s}`, i, laptop))
	}
	for field, body := range map[string]string{
		"events[0].product_id": `{"session_id":"bad-session-1","events":[{"event_id":"x","type":"view","product_id":0}]}`,
		"events[1].product_id": `{"session_id":"bad-session-1","events":[{"event_id":"x","type":"search","query":"q"},{"event_id":"y","type":"view","product_id":-4}]}`,
		"events[0].type":       `{"session_id":"bad-session-1","events":[{"event_id":"x","type":"order_paid"}]}`,
		"events[0].query":      `{"session_id":"bad-session-1","events":[{"event_id":"x","type":"search"}]}`,
		"events[0].event_id":   `{"session_id":"bad-session-1","events":[{"type":"view","product_id":1}]}`,
		"session_id":           `{"session_id":"short","events":[{"event_id":"x","type":"checkout_started"}]}`,
		"events":               `{"session_id":"bad-session-1","events":[` + strings.Join(many, ",") + `]}`,
	} {
		code, out := postEvents(t, f, "", browserUA, body)
		assert.Equal(t, http.StatusBadRequest, code, "%s: %v", field, out)
		assert.Contains(t, out["message"], field)
	}
	assert.Empty(t, storedEvents(t, f, "bad-session-1"))
	code, out = postEvents(t, f, "", browserUA, `{"session_id":"bad-session-1","events":[{"event_id":"x","type":"view","product_id":1,"occurred_at":"yesterday"}]}`)
	assert.Equal(t, http.StatusBadRequest, code, out)
}

func TestRecordEventsOverConnectIsRateLimited(t *testing.T) {
	f := newServerWith(t, options{limits: map[string]ratelimit.Limit{"events": {Rate: 3, Period: time.Minute}}})
	token := session(t, f, "connected", identity.RoleCustomer)
	me, err := f.identity.Authenticate(context.Background(), token)
	require.NoError(t, err)
	c := eventsv1connect.NewEventServiceClient(http.DefaultClient, f.url)
	send := func(id string) error {
		req := connect.NewRequest(&eventsv1.RecordEventsRequest{SessionId: "connect-session-1", Events: []*eventsv1.BehaviourEvent{
			{EventId: id, Type: "remove_from_cart", ProductId: f.laptop.ID, Quantity: 1, OccurredAt: timestamppb.New(time.Now().Add(-time.Minute))}}})
		req.Header().Set("Authorization", "Bearer "+token)
		req.Header().Set("User-Agent", browserUA)
		res, err := c.RecordEvents(context.Background(), req)
		if err == nil {
			assert.EqualValues(t, 1, res.Msg.GetAccepted())
			assert.Zero(t, res.Msg.GetClamped())
		}
		return err
	}
	for i := range 3 {
		require.NoError(t, send(fmt.Sprint("c", i)))
	}
	err = send("c3")
	assert.Equal(t, connect.CodeResourceExhausted, connect.CodeOf(err), "%v", err)
	got := storedEvents(t, f, "connect-session-1")
	require.Len(t, got, 3)
	for _, e := range got {
		assert.Equal(t, "remove_from_cart", e.Kind)
		assert.Equal(t, me.UserID, *e.User)
	}
	// Over REST it is 429 too (the limit is per client IP, token or not).
	code, out := postEvents(t, f, "", browserUA, `{"session_id":"connect-session-1","events":[{"event_id":"r","type":"checkout_started"}]}`)
	assert.Equal(t, http.StatusTooManyRequests, code, out)
}
