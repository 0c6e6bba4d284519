package workers_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enums "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/checkout"
	"github.com/shopkit/shop/workflows/email"
	fulfilmentwf "github.com/shopkit/shop/workflows/fulfilment"
)

// TestMain lets this test binary double as a worker process that a test
// can kill with SIGKILL, as a crash or an OOM kill would.
func TestMain(m *testing.M) {
	if queue := os.Getenv("SHOP_CHILD_WORKER_QUEUE"); queue != "" {
		if err := runChildWorker(queue); err != nil {
			os.Stderr.WriteString("child worker: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChildWorker(queue string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("SHOP_CHILD_DB"))
	if err != nil {
		return err
	}
	deps, err := shoptest.WorkerDeps(pool, shoptest.Settings(),
		os.Getenv("SHOP_CHILD_STRIPE"), os.Getenv("SHOP_CHILD_SMTP"))
	if err != nil {
		return err
	}
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(), Namespace: testenv.TemporalNamespace()})
	if err != nil {
		return err
	}
	return workers.New(c, queue, deps).Run(worker.InterruptCh())
}

// TestWorkerKilledAfterPaymentIntent: the worker process dies by SIGKILL
// once the PaymentIntent exists; the payment arrives while no worker runs;
// a new worker finishes the order without a second PaymentIntent or a
// second confirmation email.
func TestWorkerKilledAfterPaymentIntent(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, time.Minute)
	user := s.User(t, "kim")
	p := s.Product(t, "CRASH-1", 4200, 3)

	child := startChildWorker(t, s)
	r, err := place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	require.True(t, r.Accepted)
	require.NotEmpty(t, r.PaymentIntentID)
	id, err := s.Orders.PaymentIntentOf(context.Background(), r.OrderID)
	require.NoError(t, err)
	require.Equal(t, r.PaymentIntentID, id, "the PaymentIntent is recorded on the order")

	require.NoError(t, child.Process.Kill())
	_ = child.Wait()

	pay(t, s, r)
	// The signal is in the checkout's history, and no workflow task has
	// run since: the payment waits in Temporal.
	events := shoptest.History(t, s.Temporal, checkout.WorkflowID(r.OrderID), "").Events
	signaled := slices.IndexFunc(events, func(e *historypb.HistoryEvent) bool {
		return e.GetEventType() == enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
	})
	require.NotEqual(t, -1, signaled, "the payment is recorded")
	assert.False(t, slices.ContainsFunc(events[signaled:], func(e *historypb.HistoryEvent) bool {
		return e.GetEventType() == enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
	}), "no worker has handled the payment")
	o, err := s.Orders.Get(context.Background(), r.OrderID)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusAwaitingPayment, o.Status, "no worker runs: the payment waits in Temporal")

	s.StartWorker(t)
	s.WaitStatus(t, r.OrderID, orders.StatusPaid, time.Minute)
	assert.Len(t, s.Stripe.Requests("POST", "/v1/payment_intents"), 1, "exactly one PaymentIntent creation")
	// Once the checkout and its email workflow have closed, no other
	// email can be on its way.
	waitClosed(t, s, checkout.WorkflowID(r.OrderID))
	waitClosed(t, s, email.WorkflowID(fmt.Sprintf("order-%d-confirmation", r.OrderID)))
	assert.Len(t, s.SMTP.Messages(), 1, "exactly one confirmation email")
	assert.Equal(t, int32(2), s.Stock(t, p.ID))
}

// waitClosed waits until the workflow has completed.
func waitClosed(t *testing.T, s *shoptest.Shop, workflowID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, s.Temporal.GetWorkflow(ctx, workflowID, "").Get(ctx, nil), workflowID)
}

// startChildWorker runs a worker of the shop in another process.
func startChildWorker(t *testing.T, s *shoptest.Shop) *exec.Cmd {
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "SHOP_CHILD_WORKER_QUEUE="+s.Queue, "SHOP_CHILD_DB="+dbtest.URL(s.Pool),
		"SHOP_CHILD_STRIPE="+s.Stripe.URL(), "SHOP_CHILD_SMTP="+s.SMTP.Addr())
	child.Stdout, child.Stderr = os.Stderr, os.Stderr
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill() })
	return child
}

// TestWorkerKilledWhileStripeAnswers: Stripe has created the PaymentIntent
// but the worker dies before the answer reaches it. The step is retried on
// another worker after its timeout with the same idempotency key, so Stripe
// answers the PaymentIntent it already created: one creation, one payment.
func TestWorkerKilledWhileStripeAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the activity timeout (30 s)")
	}
	s := shoptest.NewWithoutWorker(t, time.Minute)
	user := s.User(t, "kai")
	p := s.Product(t, "CRASH-2", 4200, 3)
	hold := s.Stripe.HoldNext("/v1/payment_intents")
	child := startChildWorker(t, s)

	type placed struct {
		r   checkout.Reservation
		err error
	}
	done := make(chan placed, 1)
	go func() {
		r, err := place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 1})
		done <- placed{r, err}
	}()
	select {
	case <-hold.Reached:
	case <-time.After(time.Minute):
		t.Fatal("the PaymentIntent was never requested")
	}
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	hold.Release()
	s.StartWorker(t)

	res := <-done
	require.NoError(t, res.err)
	require.True(t, res.r.Accepted, "the stock was reserved before the crash")
	var pi string
	require.Eventually(t, func() bool {
		pi, _ = s.Orders.PaymentIntentOf(context.Background(), res.r.OrderID)
		return pi != ""
	}, 2*time.Minute, 200*time.Millisecond, "the step is retried after its timeout")

	creates := s.Stripe.Requests("POST", "/v1/payment_intents")
	require.Len(t, creates, 2, "the lost answer and the retry")
	assert.Equal(t, creates[0].IdempotencyKey, creates[1].IdempotencyKey)
	assert.False(t, creates[0].Replayed, "created once")
	assert.True(t, creates[1].Replayed, "the retry gets the same PaymentIntent back")

	pay(t, s, checkout.Reservation{OrderID: res.r.OrderID, PaymentIntentID: pi})
	s.WaitStatus(t, res.r.OrderID, orders.StatusPaid, time.Minute)
	s.SMTP.WaitFor(t, 1, 30*time.Second)
	assert.Equal(t, int32(2), s.Stock(t, p.ID))
}

// TestWorkerKilledDuringFulfilment: the worker process dies by SIGKILL once
// a parcel has shipped; the carrier's delivery scan arrives twice while no
// worker runs. A new worker finishes the story: the stock left the shelf
// once, the scan is stored once, and each email went out once.
func TestWorkerKilledDuringFulfilment(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, time.Minute)
	ctx := context.Background()
	user := s.User(t, "kit")
	p := s.Product(t, "CRASH-3", 4200, 3)

	child := startChildWorker(t, s)
	r, err := place(t, s, user, orders.Item{ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	require.True(t, r.Accepted)
	pay(t, s, r)
	s.WaitStatus(t, r.OrderID, orders.StatusPaid, 30*time.Second)
	var parcel int64
	require.Eventually(t, func() bool {
		all, err := s.Shipments.ForOrder(ctx, r.OrderID)
		if err != nil || len(all) != 1 {
			return false
		}
		parcel = all[0].ID
		_, err = s.Temporal.DescribeWorkflow(ctx, fulfilmentwf.ShipmentWorkflowID(parcel), "")
		return err == nil
	}, 30*time.Second, 50*time.Millisecond)
	_, err = s.Fulfil.Pick(ctx, parcel)
	require.NoError(t, err)
	_, err = s.Fulfil.Pack(ctx, parcel)
	require.NoError(t, err)
	_, err = s.Fulfil.Ship(ctx, parcel, fulfilment.ShipInput{Carrier: "manual", TrackingNumber: "TRK-CRASH-3"})
	require.NoError(t, err)

	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	scan := fulfilment.Scan{EventID: "evt-crash-3", Kind: fulfilment.ScanDelivered, OccurredAt: time.Now()}
	require.NoError(t, s.Fulfil.ScanByTracking(ctx, "manual", "TRK-CRASH-3", scan))
	require.NoError(t, s.Fulfil.ScanByTracking(ctx, "manual", "TRK-CRASH-3", scan))
	// The scan is recorded before the carrier hears 200: the order is
	// delivered already; the parcel's workflow (its email) waits in Temporal.
	o, err := s.Orders.Get(ctx, r.OrderID)
	require.NoError(t, err)
	assert.Equal(t, orders.StatusDelivered, o.Status)

	s.StartWorker(t)
	s.WaitStatus(t, r.OrderID, orders.StatusDelivered, time.Minute)
	waitClosed(t, s, fulfilmentwf.ShipmentWorkflowID(parcel))
	for _, key := range []string{fmt.Sprintf("order-%d-confirmation", r.OrderID),
		fmt.Sprintf("shipment-%d-shipped", parcel), fmt.Sprintf("shipment-%d-delivered", parcel)} {
		waitClosed(t, s, email.WorkflowID(key))
	}
	assert.Len(t, s.SMTP.Messages(), 3, "confirmation, shipped and delivered, once each")
	var onHand, scans int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT on_hand FROM location_stock WHERE product_id = $1`, p.ID).Scan(&onHand))
	assert.Equal(t, 1, onHand, "the two units left the shelf once")
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM shipment_scans WHERE shipment_id = $1`, parcel).Scan(&scans))
	assert.Equal(t, 1, scans)
}
