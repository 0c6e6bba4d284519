package workers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/payments"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/checkout"
	"github.com/shopkit/shop/workflows/email"
)

const addr = "123 Main St, City, CA 90012"

// place claims an order id and runs the checkout up to the reservation.
func place(t *testing.T, s *shoptest.Shop, userID int64, items ...orders.Item) (checkout.Reservation, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id, err := s.Orders.ClaimOrderID(ctx, userID, "", nil)
	require.NoError(t, err)
	return s.Checkout.Place(ctx, orders.PlaceInput{OrderID: id, UserID: userID, Items: items, ShippingAddress: addr, PaymentMethod: "credit_card"})
}

func pay(t *testing.T, s *shoptest.Shop, r checkout.Reservation) {
	t.Helper()
	require.NoError(t, s.Checkout.PaymentEvent(context.Background(), r.OrderID, paidEvent(t, s, r)))
}

// paidEvent is Stripe's success for the order's full amount.
func paidEvent(t *testing.T, s *shoptest.Shop, r checkout.Reservation) checkout.PaymentEvent {
	t.Helper()
	o, err := s.Orders.Get(context.Background(), r.OrderID)
	require.NoError(t, err)
	return checkout.PaymentEvent{EventID: "evt_" + fmt.Sprint(r.OrderID), Type: checkout.EventPaymentSucceeded,
		PaymentIntentID: r.PaymentIntentID, Amount: o.Total, Currency: strings.ToLower(o.Currency)}
}

// TestCancelRacingPaymentIsAlwaysAnswered: a customer's cancel sent at the
// same moment as Stripe's success, 20 times. Every cancel is answered
// promptly, either cancelled or refused because the order was paid; the
// answer matches the order; every checkout finishes; stock adds up.
func TestCancelRacingPaymentIsAlwaysAnswered(t *testing.T) {
	const races = 20
	s := shoptest.New(t, time.Minute)
	user := s.User(t, "racer")
	p := s.Product(t, "RACE-1", 1200, races)
	var placed []checkout.Reservation
	for range races {
		r, err := place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 1})
		require.NoError(t, err)
		require.True(t, r.Accepted)
		placed = append(placed, r)
	}
	cancelled := make([]error, races)
	took := make([]time.Duration, races)
	var wg sync.WaitGroup
	for i, r := range placed {
		ev := paidEvent(t, s, r)
		wg.Add(2)
		go func() {
			defer wg.Done()
			start := time.Now()
			cancelled[i] = s.Checkout.Cancel(context.Background(), r.OrderID, checkout.CancelRequest{Reason: "changed my mind"})
			took[i] = time.Since(start)
		}()
		go func() {
			defer wg.Done()
			assert.NoError(t, s.Checkout.PaymentEvent(context.Background(), r.OrderID, ev))
		}()
	}
	wg.Wait()

	var paid, cancels int
	for i, r := range placed {
		assert.Less(t, took[i], 15*time.Second, "order %d: the cancel is answered promptly", r.OrderID)
		var res checkout.Result
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		require.NoError(t, s.Temporal.GetWorkflow(ctx, checkout.WorkflowID(r.OrderID), "").Get(ctx, &res), "the checkout finishes")
		cancel()
		o, err := s.Orders.Get(context.Background(), r.OrderID)
		require.NoError(t, err)
		assert.Equal(t, res.Status, o.Status)
		switch err := cancelled[i]; {
		case err == nil:
			cancels++
			assert.Equal(t, orders.StatusCancelled, o.Status, "order %d: a cancel answered OK left it cancelled", r.OrderID)
		case errors.Is(err, orders.ErrNotCancellable):
			paid++
			assert.Equal(t, orders.StatusPaid, o.Status, "order %d: a refused cancel means the payment won: %v", r.OrderID, err)
		default:
			t.Errorf("order %d: the cancel got no clear answer: %v", r.OrderID, err)
		}
	}
	t.Logf("%d cancelled, %d paid first", cancels, paid)
	shoptest.RecordHistory(t, s.Temporal, checkout.WorkflowID(placed[0].OrderID), "../workflows/checkout/testdata/cancel_race.json")
	assert.Equal(t, races, cancels+paid)
	assert.Equal(t, int32(cancels), s.Stock(t, p.ID), "cancelled orders gave their unit back; paid ones kept it")
}

func TestCheckoutToPaid(t *testing.T) {
	s := shoptest.New(t, time.Minute)
	user := s.User(t, "paula")
	p := s.Product(t, "MUG-1", 1999, 5)

	r, err := place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	require.True(t, r.Accepted, "%+v", r.Rejection)
	assert.NotEmpty(t, r.PaymentIntentID)
	pi, err := payments.NewStripe("sk_test_123", s.Stripe.URL(), nil).GetPaymentIntent(context.Background(), r.PaymentIntentID)
	require.NoError(t, err)
	require.NotEmpty(t, pi.ClientSecret, "Stripe holds the client secret")
	q, err := s.Temporal.QueryWorkflow(context.Background(), checkout.WorkflowID(r.OrderID), "", checkout.StatusQuery)
	require.NoError(t, err)
	var state map[string]any
	require.NoError(t, q.Get(&state))
	assert.NotContains(t, fmt.Sprint(state), pi.ClientSecret, "the status query holds no secret")
	assert.Equal(t, int32(3), s.Stock(t, p.ID), "the stock is reserved when the order is accepted")

	o, err := s.Orders.Get(context.Background(), r.OrderID)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusAwaitingPayment, o.Status)
	assert.Equal(t, int64(3998), o.Subtotal)
	assert.Equal(t, int64(599), o.Shipping)
	assert.Equal(t, int64(290), o.Tax, "CA 7.25% of 39.98")
	assert.Equal(t, int64(3998+599+290), o.Total)
	assert.Equal(t, "CA", o.Region)

	pay(t, s, r)
	o = s.WaitStatus(t, r.OrderID, orders.StatusPaid, 30*time.Second)
	assert.Equal(t, o.Total, o.Captured)
	assert.Equal(t, int32(3), s.Stock(t, p.ID), "paid stock stays taken")
	var committed int
	require.NoError(t, s.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM stock_reservations WHERE order_id = $1 AND state = 'committed'`, r.OrderID).Scan(&committed))
	assert.Equal(t, 1, committed)

	history, err := protojson.Marshal(shoptest.History(t, s.Temporal, checkout.WorkflowID(r.OrderID), ""))
	require.NoError(t, err)
	assert.NotContains(t, string(history), pi.ClientSecret, "the history holds no secret")
	assert.NotContains(t, string(history), "_secret_")

	creates := s.Stripe.Requests("POST", "/v1/payment_intents")
	require.Len(t, creates, 1, "one PaymentIntent creation")
	assert.Equal(t, checkout.WorkflowID(r.OrderID)+"/payment-intent", creates[0].IdempotencyKey)

	msgs := s.SMTP.WaitFor(t, 1, 30*time.Second)
	assert.Equal(t, []string{"paula@example.com"}, msgs[0].To)
	assert.Contains(t, string(msgs[0].Data), fmt.Sprint(r.OrderID))

	run := s.Temporal.GetWorkflow(context.Background(), checkout.WorkflowID(r.OrderID), "")
	var res checkout.Result
	require.NoError(t, run.Get(context.Background(), &res))
	assert.Equal(t, orders.StatusPaid, res.Status)
	// The same order placed again (a retried request) once its checkout has
	// closed starts nothing: it answers how that checkout went.
	again, err := s.Checkout.Place(context.Background(), orders.PlaceInput{OrderID: r.OrderID, UserID: user,
		Items: []orders.Item{{ProductID: p.ID, Quantity: 2}}, ShippingAddress: addr, PaymentMethod: "credit_card"})
	require.NoError(t, err)
	assert.Equal(t, checkout.Reservation{OrderID: r.OrderID, Accepted: true}, again)
	assert.Equal(t, int32(3), s.Stock(t, p.ID))
	shoptest.RecordHistory(t, s.Temporal, run.GetID(), "../workflows/checkout/testdata/paid_handed_to_fulfilment.json")
	shoptest.RecordHistory(t, s.Temporal, email.WorkflowID(fmt.Sprintf("order-%d-confirmation", r.OrderID)), "../workflows/email/testdata/confirmation.json")
}

// TestConcurrentCheckoutsNeverOversell: 100 shoppers race for 10 units.
func TestConcurrentCheckoutsNeverOversell(t *testing.T) {
	s := shoptest.New(t, time.Minute)
	// 100 checkouts at once on a small test machine: correctness, not speed.
	s.Checkout.UpdateWait = 2 * time.Minute
	p := s.Product(t, "HOT-1", 2500, 10)
	users := make([]int64, 10)
	for i := range users {
		users[i] = s.User(t, fmt.Sprintf("racer%d", i))
	}

	var mu sync.Mutex
	var accepted []checkout.Reservation
	var refused []string
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := place(t, s, users[i%len(users)], orders.Item{ProductID: p.ID, Quantity: 1})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				refused = append(refused, "error: "+err.Error())
			case r.Accepted:
				accepted = append(accepted, r)
			default:
				refused = append(refused, r.Rejection.Message)
			}
		}()
	}
	wg.Wait()
	require.Len(t, accepted, 10)
	require.Len(t, refused, 90)
	for _, msg := range refused {
		assert.Contains(t, msg, "insufficient stock for Product HOT-1 (HOT-1)")
	}
	assert.Equal(t, int32(0), s.Stock(t, p.ID))

	for _, r := range accepted {
		pay(t, s, r)
	}
	for _, r := range accepted {
		s.WaitStatus(t, r.OrderID, orders.StatusPaid, time.Minute)
	}
	ctx := context.Background()
	var rows, held, committed int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&rows))
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'held'), count(*) FILTER (WHERE state = 'committed')
		FROM stock_reservations`).Scan(&held, &committed))
	assert.Equal(t, 10, rows, "refused checkouts wrote nothing")
	assert.Equal(t, 0, held)
	assert.Equal(t, 10, committed)
	assert.Equal(t, int32(0), s.Stock(t, p.ID), "0 oversold")
}

func TestPaymentTimeoutReleasesStock(t *testing.T) {
	s := shoptest.New(t, 2*time.Second)
	user := s.User(t, "tim")
	p := s.Product(t, "SLOW-1", 1000, 4)
	r, err := place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 3})
	require.NoError(t, err)
	require.True(t, r.Accepted)
	assert.Equal(t, int32(1), s.Stock(t, p.ID))

	o := s.WaitStatus(t, r.OrderID, orders.StatusCancelled, 30*time.Second)
	assert.Contains(t, o.StatusReason, "no payment within 2s")
	assert.Equal(t, int32(4), s.Stock(t, p.ID), "the reservation went back")
	cancels := s.Stripe.Requests("POST", "/v1/payment_intents/"+r.PaymentIntentID+"/cancel")
	require.Len(t, cancels, 1, "the PaymentIntent is cancelled")
	assert.Equal(t, checkout.WorkflowID(r.OrderID)+"/cancel-payment-intent", cancels[0].IdempotencyKey)
	msgs := s.SMTP.WaitFor(t, 1, 30*time.Second)
	assert.Contains(t, strings.ToLower(string(msgs[0].Data)), "cancelled")

	// A late success for the settled checkout changes nothing.
	err = s.Checkout.PaymentEvent(context.Background(), r.OrderID, checkout.PaymentEvent{Type: checkout.EventPaymentSucceeded, PaymentIntentID: r.PaymentIntentID})
	assert.ErrorIs(t, err, checkout.ErrClosed)
	shoptest.RecordHistory(t, s.Temporal, checkout.WorkflowID(r.OrderID), "../workflows/checkout/testdata/timeout.json")
}

func TestPaymentFailureReleasesStockAndRefusalIsSynchronous(t *testing.T) {
	s := shoptest.New(t, time.Minute)
	user := s.User(t, "fay")
	p := s.Product(t, "FAIL-1", 1000, 2)

	r, err := place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 3})
	require.NoError(t, err)
	require.False(t, r.Accepted)
	assert.Contains(t, r.Rejection.Message, "3 requested, 2 available")
	r, err = place(t, s, user, orders.Item{ProductID: 999999, Quantity: 1})
	require.NoError(t, err)
	require.False(t, r.Accepted)
	assert.Equal(t, "items[0].product_id", r.Rejection.Field)

	r, err = place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	require.True(t, r.Accepted)
	require.NoError(t, s.Checkout.PaymentEvent(context.Background(), r.OrderID, checkout.PaymentEvent{
		EventID: "evt_fail", Type: checkout.EventPaymentFailed, PaymentIntentID: r.PaymentIntentID, Message: "Your card was declined."}))
	o := s.WaitStatus(t, r.OrderID, orders.StatusPaymentFailed, 30*time.Second)
	assert.Contains(t, o.StatusReason, "Your card was declined.")
	assert.Equal(t, int32(2), s.Stock(t, p.ID))
	var states []string
	for _, e := range o.Events {
		states = append(states, e.Status)
	}
	assert.Equal(t, []string{"awaiting_payment", "payment_failed"}, states)
}

// TestPlaceWithoutWorkerAnswersInTime: with no worker to run the checkout,
// placing an order answers ErrUnavailable at its deadline instead of
// holding the caller.
func TestPlaceWithoutWorkerAnswersInTime(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, time.Minute)
	s.Checkout.UpdateWait = 2 * time.Second
	user := s.User(t, "wendy")
	p := s.Product(t, "WAIT-1", 1000, 1)
	ctx := context.Background()
	id, err := s.Orders.ClaimOrderID(ctx, user, "", nil)
	require.NoError(t, err)
	start := time.Now()
	_, err = s.Checkout.Place(ctx, orders.PlaceInput{OrderID: id, UserID: user, ShippingAddress: addr, PaymentMethod: "credit_card",
		Items: []orders.Item{{ProductID: p.ID, Quantity: 1}}})
	assert.ErrorIs(t, err, checkout.ErrUnavailable)
	assert.Less(t, time.Since(start), 10*time.Second)
	// A cancel of that (started, never run) checkout waits no longer either.
	start = time.Now()
	err = s.Checkout.Cancel(ctx, id, checkout.CancelRequest{})
	assert.ErrorIs(t, err, checkout.ErrUnavailable)
	assert.Less(t, time.Since(start), 10*time.Second)
}
