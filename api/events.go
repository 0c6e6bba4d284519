package api

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"connectrpc.com/connect"
	useragent "github.com/medama-io/go-useragent"

	eventsv1 "github.com/shopkit/shop/gen/shop/events/v1"
	"github.com/shopkit/shop/internal/events"
)

// EventServer implements EventService over events.Store.
type EventServer struct {
	Store *events.Store
	// Now is the server's clock (tests); nil: time.Now.
	Now func() time.Time
}

// maxEventAge: an event said to be older is dated by the server's clock.
const maxEventAge = 24 * time.Hour

var (
	uaParser = sync.OnceValue(useragent.NewParser)
	// crawlerPattern catches the crawlers and link previewers the parser's
	// list misses.
	crawlerPattern = regexp.MustCompile(`(?i)(bot|crawler|spider|slurp|scraper)\b|crawl|headless|externalhit|linkexpanding|preview|lighthouse|pingdom`)
)

// isBot says whether a User-Agent is obviously not a shopper's browser:
// none at all, a well-known crawler, or a script.
func isBot(ua string) bool {
	return ua == "" || crawlerPattern.MatchString(ua) || uaParser().Parse(ua).IsBot()
}

// RecordEvents implements EventService.
func (s *EventServer) RecordEvents(ctx context.Context, req *connect.Request[eventsv1.RecordEventsRequest]) (*connect.Response[eventsv1.RecordEventsResponse], error) {
	if s.Store == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("the event store is not configured"))
	}
	m := req.Msg
	if isBot(req.Header().Get("User-Agent")) {
		// Answered as taken, so the bot does not retry.
		return connect.NewResponse(&eventsv1.RecordEventsResponse{Dropped: int32(len(m.GetEvents()))}), nil
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	user := actorOf(ctx)
	out := &eventsv1.RecordEventsResponse{}
	batch := make([]events.Event, 0, len(m.GetEvents()))
	for _, e := range m.GetEvents() {
		at := now
		if ts := e.GetOccurredAt(); ts != nil && ts.IsValid() && !ts.AsTime().After(now) && now.Sub(ts.AsTime()) <= maxEventAge {
			at = ts.AsTime()
		} else {
			out.Clamped++
		}
		batch = append(batch, events.Event{Kind: events.Kind(e.GetType()), OccurredAt: at, SessionID: m.GetSessionId(),
			UserID: user, ProductID: e.GetProductId(), VariantID: e.GetVariantId(), Quantity: e.GetQuantity(),
			Query: e.GetQuery(), DedupKey: events.ClientKey(m.GetSessionId(), e.GetEventId())})
	}
	for i, e := range batch {
		// The schema allows client kinds only; this guards a later change.
		if e.Kind.IsServerFact() {
			return nil, invalidArgument(fmt.Sprintf("events[%d].type", i), "order facts are recorded by the shop, not sent")
		}
	}
	stored, err := s.Store.Record(ctx, batch)
	if err != nil {
		return nil, err
	}
	out.Accepted = int32(len(batch))
	out.Duplicates = int32(len(batch) - stored)
	return connect.NewResponse(out), nil
}
