package email

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/shopkit/shop/internal/db/dbtest"
	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/mail/mailtest"
	"github.com/shopkit/shop/internal/money"
)

type fixture struct {
	a    *Activities
	smtp *mailtest.Server
	env  *testsuite.TestActivityEnvironment
}

func newFixture(t *testing.T) fixture {
	srv := mailtest.Start(t)
	sender, err := mail.NewSender(mail.Config{Addr: srv.Addr(), From: "orders@shop.test"})
	require.NoError(t, err)
	a := &Activities{Pool: dbtest.New(t), Sender: sender}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	return fixture{a: a, smtp: srv, env: env}
}

func (f fixture) send(in Input) (Result, error) {
	v, err := f.env.ExecuteActivity(f.a.SendEmail, in)
	if err != nil {
		return Result{}, err
	}
	var r Result
	return r, v.Get(&r)
}

func confirmation(key string) Input {
	usd := func(n int64) money.Money { return money.Money{Amount: n, Currency: "USD"} }
	return Input{Key: key, Kind: mail.KindOrderConfirmation, To: "ada@example.com", OrderID: 42, Data: mail.OrderEmail{
		CustomerName: "Ada", OrderID: 42,
		Lines:    []mail.Line{{Name: "Mug", SKU: "MUG", Quantity: 1, UnitPrice: usd(999), LineTotal: usd(999)}},
		Subtotal: usd(999), Shipping: usd(0), Tax: usd(0), Total: usd(999),
	}}
}

func TestSendsOnceAndRecordsIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	first, err := f.send(confirmation("order-42-confirmation"))
	require.NoError(t, err)
	assert.False(t, first.AlreadySent)
	assert.Equal(t, mail.MessageID("order-42-confirmation"), first.MessageID)

	again, err := f.send(confirmation("order-42-confirmation"))
	require.NoError(t, err)
	assert.Equal(t, Result{MessageID: first.MessageID, AlreadySent: true}, again)

	msgs := f.smtp.WaitFor(t, 1, 5*time.Second)
	assert.Len(t, msgs, 1, "the second call delivers nothing")
	assert.Equal(t, []string{"ada@example.com"}, msgs[0].To)

	rec, err := mail.GetRecord(ctx, f.a.Pool, "order-42-confirmation")
	require.NoError(t, err)
	assert.Equal(t, mail.StatusSent, rec.Status)
	assert.Equal(t, first.MessageID, rec.MessageID)
	assert.Equal(t, 1, rec.Attempts, "an already-sent email is not an attempt")
	assert.Equal(t, "Your order #42 is confirmed", rec.Subject)
	assert.Equal(t, int64(42), rec.OrderID)
	require.NotNil(t, rec.SentAt)

	byOrder, err := mail.ByOrder(ctx, f.a.Pool, 42)
	require.NoError(t, err)
	require.Len(t, byOrder, 1)
	assert.Equal(t, "order-42-confirmation", byOrder[0].Key)
}

func TestATemporaryRefusalIsRetriedAndCounted(t *testing.T) {
	f := newFixture(t)
	f.smtp.FailNext(1, 451)

	_, err := f.send(confirmation("order-42-confirmation"))
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	if assert.ErrorAs(t, err, &appErr) {
		assert.False(t, appErr.NonRetryable(), "4xx is retried")
	}
	rec, err := mail.GetRecord(context.Background(), f.a.Pool, "order-42-confirmation")
	require.NoError(t, err)
	assert.Equal(t, mail.StatusSending, rec.Status)
	assert.Contains(t, rec.LastError, "451")

	_, err = f.send(confirmation("order-42-confirmation"))
	require.NoError(t, err)
	rec, err = mail.GetRecord(context.Background(), f.a.Pool, "order-42-confirmation")
	require.NoError(t, err)
	assert.Equal(t, mail.StatusSent, rec.Status)
	assert.Equal(t, 2, rec.Attempts)
	assert.Len(t, f.smtp.Messages(), 1)
}

func TestAPermanentRefusalIsNotRetried(t *testing.T) {
	f := newFixture(t)
	f.smtp.FailNext(1, 550)

	_, err := f.send(confirmation("order-7-confirmation"))
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.True(t, appErr.NonRetryable())
	assert.Equal(t, ErrTypeRejected, appErr.Type())

	rec, err := mail.GetRecord(context.Background(), f.a.Pool, "order-7-confirmation")
	require.NoError(t, err)
	assert.Equal(t, mail.StatusFailed, rec.Status)
	assert.Contains(t, rec.LastError, "550")
	assert.Nil(t, rec.SentAt)
	assert.Empty(t, f.smtp.Messages())
}

func TestBadInputIsNotRetried(t *testing.T) {
	f := newFixture(t)
	in := confirmation("order-9-newsletter")
	in.Kind = "newsletter"
	_, err := f.send(in)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	assert.True(t, appErr.NonRetryable())
	assert.Equal(t, ErrTypeBadInput, appErr.Type())
	rec, err := mail.GetRecord(context.Background(), f.a.Pool, "order-9-newsletter")
	require.NoError(t, err)
	assert.Equal(t, mail.StatusFailed, rec.Status)
	assert.Contains(t, rec.LastError, "unknown email kind")

	in = confirmation("")
	_, err = f.send(in)
	require.ErrorAs(t, err, &appErr)
	assert.Equal(t, ErrTypeBadInput, appErr.Type())
	assert.Empty(t, f.smtp.Messages())
}
