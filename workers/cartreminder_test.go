package workers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mime/multipart"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/cart"
	"github.com/shopkit/shop/internal/mail/mailtest"
	"github.com/shopkit/shop/internal/outbox"
	"github.com/shopkit/shop/internal/temporalclient"
	"github.com/shopkit/shop/internal/testenv"
	"github.com/shopkit/shop/workers/shoptest"
	"github.com/shopkit/shop/workflows/cartreminder"
)

// reminderShop is a shop whose carts are reminded 1s and 2s after their
// last change.
func reminderShop(t *testing.T) *shoptest.Shop {
	t.Helper()
	s := shoptest.NewWithoutWorker(t, time.Hour)
	s.EnableCartReminders(t, time.Second, 2*time.Second)
	s.StartWorker(t)
	return s
}

func cartConfig() cart.Config {
	st := shoptest.Settings()
	return cart.Config{Shipping: st.ShippingMethods, TaxRates: st.TaxRates, DefaultCountry: st.DefaultCountry}
}

// reminderResult waits for the cart's reminders to end and answers how.
func reminderResult(t *testing.T, s *shoptest.Shop, userID int64) cartreminder.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res cartreminder.Result
	require.NoError(t, s.Temporal.GetWorkflow(ctx, cartreminder.WorkflowID(userID), "").Get(ctx, &res))
	return res
}

// textPart answers the subject and the plain-text part of a message.
func textPart(t *testing.T, m mailtest.Message) (string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	require.NoError(t, err)
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	part, err := multipart.NewReader(msg.Body, params["boundary"]).NextPart()
	require.NoError(t, err)
	body, err := io.ReadAll(part) // quoted-printable is decoded by the reader
	require.NoError(t, err)
	return msg.Header.Get("Subject"), string(body)
}

var unsubscribeLink = regexp.MustCompile(`http://shop\.test/api/cart-reminders/unsubscribe\?token=(\S+)`)

func TestCartRemindersFollowTheScheduleThenStop(t *testing.T) {
	s := reminderShop(t)
	ctx := context.Background()
	user := s.User(t, "ada")
	p := s.Product(t, "MUG-REMIND", 1500, 10)
	_, err := s.Carts.Add(ctx, user, cartConfig(), p.ID, 0, 2)
	require.NoError(t, err)

	msgs := s.SMTP.WaitFor(t, 2, time.Minute)
	res := reminderResult(t, s, user)
	assert.Equal(t, cartreminder.Result{Version: 1, Sent: 2, Reason: cartreminder.ReasonDone}, res)
	require.Len(t, s.SMTP.Messages(), 2, "exactly the two reminders of the schedule")
	for _, m := range msgs {
		assert.Equal(t, []string{"ada@example.com"}, m.To)
		subject, body := textPart(t, m)
		assert.Equal(t, "You left something in your cart", subject)
		assert.Contains(t, body, "2 x Product MUG-REMIND at 15.00 USD")
		link := unsubscribeLink.FindStringSubmatch(body)
		require.NotNil(t, link, body)
		token, err := url.QueryUnescape(link[1])
		require.NoError(t, err)
		id, err := cart.ParseUnsubscribeToken(shoptest.ReminderSecret, token)
		require.NoError(t, err)
		assert.Equal(t, user, id)
	}
	var keys []string
	rows, err := s.Pool.Query(ctx, `SELECT dedup_key FROM emails WHERE kind = 'cart_reminder' AND status = 'sent' ORDER BY dedup_key`)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		keys = append(keys, k)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{cartreminder.ReminderKey(user, 1, 1), cartreminder.ReminderKey(user, 2, 1)}, keys)
	shoptest.RecordHistory(t, s.Temporal, cartreminder.WorkflowID(user), "../workflows/cartreminder/testdata/reminders.json")

	// A new change starts a new period with its own reminders.
	_, err = s.Carts.Add(ctx, user, cartConfig(), p.ID, 0, 1)
	require.NoError(t, err)
	s.SMTP.WaitFor(t, 4, time.Minute)
	assert.Equal(t, cartreminder.Result{Version: 2, Sent: 2, Reason: cartreminder.ReasonDone}, reminderResult(t, s, user))
	assert.Len(t, s.SMTP.Messages(), 4)
}

func TestCheckoutStopsTheCartReminders(t *testing.T) {
	s := reminderShop(t)
	ctx := context.Background()
	user := s.User(t, "bob")
	p := s.Product(t, "MUG-CHECKOUT", 1500, 10)
	_, err := s.Carts.Add(ctx, user, cartConfig(), p.ID, 0, 1)
	require.NoError(t, err)
	// The relay starts the reminders after the change commits; a checkout
	// that empties the cart first rightly starts none, so wait for them.
	require.Eventually(t, func() bool {
		_, err := s.Temporal.DescribeWorkflow(ctx, cartreminder.WorkflowID(user), "")
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "the cart's reminders never started")
	r, err := place(t, s, user) // from the cart, which checkout empties
	require.NoError(t, err)
	require.True(t, r.Accepted)

	res := reminderResult(t, s, user)
	assert.Equal(t, cartreminder.ReasonEmptied, res.Reason)
	assert.Zero(t, res.Sent)
	assert.Empty(t, s.SMTP.Messages(), "no reminder once the cart is checked out")
	shoptest.RecordHistory(t, s.Temporal, cartreminder.WorkflowID(user), "../workflows/cartreminder/testdata/checked_out.json")
}

func TestUnsubscribedShoppersGetNoMoreReminders(t *testing.T) {
	// The second reminder is due late enough for the opt-out to come
	// first even on a busy machine.
	s := shoptest.NewWithoutWorker(t, time.Hour)
	s.EnableCartReminders(t, time.Second, 8*time.Second)
	s.StartWorker(t)
	ctx := context.Background()
	user := s.User(t, "cyd")
	p := s.Product(t, "MUG-UNSUB", 1500, 10)
	_, err := s.Carts.Add(ctx, user, cartConfig(), p.ID, 0, 1)
	require.NoError(t, err)

	first := s.SMTP.WaitFor(t, 1, time.Minute)[0]
	_, body := textPart(t, first)
	link := unsubscribeLink.FindStringSubmatch(body)
	require.NotNil(t, link, body)
	token, err := url.QueryUnescape(link[1])
	require.NoError(t, err)
	id, err := cart.ParseUnsubscribeToken(shoptest.ReminderSecret, token)
	require.NoError(t, err)
	require.NoError(t, s.Carts.OptOutOfReminders(ctx, id))

	res := reminderResult(t, s, user)
	assert.Equal(t, "unsubscribed", res.Reason)
	assert.Len(t, s.SMTP.Messages(), 1, "the second reminder is not sent")

	// Later changes start the reminders again, which find the opt-out.
	_, err = s.Carts.Add(ctx, user, cartConfig(), p.ID, 0, 1)
	require.NoError(t, err)
	assert.Equal(t, "unsubscribed", reminderResult(t, s, user).Reason)
	assert.Len(t, s.SMTP.Messages(), 1)
}

// A cart change made while Temporal is unreachable waits in the outbox and
// starts the cart's reminders once Temporal answers again.
func TestCartChangeMadeWhileTemporalIsDownStillReminds(t *testing.T) {
	s := shoptest.NewWithoutWorker(t, time.Hour)
	ctx := context.Background()
	_, err := s.Pool.Exec(ctx, fmt.Sprintf("ALTER TABLE users ALTER COLUMN id RESTART WITH %d", 1_000_000+rand.Int64N(1<<40)))
	require.NoError(t, err)
	user := s.User(t, "otto")
	p := s.Product(t, "MUG-OUTAGE", 1500, 10)

	dead, err := temporalclient.Lazy(temporalclient.Options{Address: "127.0.0.1:1", Namespace: "default",
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(dead.Close)
	stop := testenv.RunRelay(t, &outbox.Relay{Pool: s.Pool, Poll: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Consumers: []outbox.Consumer{
			&cartreminder.Client{Temporal: dead, Pool: s.Pool, TaskQueue: s.Queue, Schedule: []time.Duration{time.Second}}}})

	_, err = s.Carts.Add(ctx, user, cartConfig(), p.ID, 0, 1)
	require.NoError(t, err, "the cart change does not depend on Temporal")
	require.Eventually(t, func() bool {
		var failed bool
		err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbox_deliveries
			WHERE consumer = $1 AND attempts > 0)`, cartreminder.ConsumerName).Scan(&failed)
		return err == nil && failed
	}, 30*time.Second, 20*time.Millisecond, "the change waits in the outbox")
	stop()

	// Temporal answers again: the waiting change starts the reminders.
	s.EnableCartReminders(t, time.Second)
	s.StartWorker(t)
	msgs := s.SMTP.WaitFor(t, 1, time.Minute)
	assert.Equal(t, []string{"otto@example.com"}, msgs[0].To)
	assert.Equal(t, cartreminder.Result{Version: 1, Sent: 1, Reason: cartreminder.ReasonDone}, reminderResult(t, s, user))
}
