// Package email holds the activity that sends one transactional email, at
// most once per business event.
package email

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/metrics"
)

// Error types the email workflow must not retry.
const (
	// ErrTypeRejected: the SMTP server refused the message for good (5xx) or
	// the recipient address is invalid.
	ErrTypeRejected = "EmailRejected"
	// ErrTypeBadInput: the input is incomplete or cannot be rendered.
	ErrTypeBadInput = "EmailBadInput"
)

// Input asks for one email.
type Input struct {
	Key     string // dedup key: one email per business event, e.g. "order-42-confirmation"
	Kind    string // mail.KindOrderConfirmation, ...
	To      string // recipient address
	OrderID int64
	// CustomerID is the shopper the email is about (0: none), shown as
	// the workflow's CustomerId beside OrderId in the Temporal UI.
	CustomerID int64
	Data       mail.OrderEmail
}

// Result tells what SendEmail did.
type Result struct {
	MessageID   string
	AlreadySent bool // an earlier attempt or run delivered it; nothing was sent now
}

// Activities sends emails and keeps their bookkeeping in the emails table.
type Activities struct {
	Pool   *pgxpool.Pool
	Sender *mail.Sender
}

// markTimeout bounds the bookkeeping done after delivery, which must not be
// cut short by the activity's own deadline.
const markTimeout = 10 * time.Second

// SendEmail renders and sends in.Kind to in.To unless the emails row of
// in.Key says it was sent already.
func (a *Activities) SendEmail(ctx context.Context, in Input) (Result, error) {
	log := activity.GetLogger(ctx)
	if in.Key == "" || in.Kind == "" || in.To == "" {
		return Result{}, temporal.NewNonRetryableApplicationError("email key, kind and recipient are required", ErrTypeBadInput, nil)
	}
	subject, text, html, renderErr := mail.Render(in.Kind, in.Data)
	rec, err := mail.BeginAttempt(ctx, a.Pool, mail.Record{
		Key: in.Key, Kind: in.Kind, OrderID: in.OrderID, Recipient: in.To, Subject: subject,
	})
	if err != nil {
		return Result{}, err
	}
	if rec.Status == mail.StatusSent {
		log.Info("email already sent", "key", in.Key, "message_id", rec.MessageID)
		return Result{MessageID: rec.MessageID, AlreadySent: true}, nil
	}
	if renderErr != nil {
		metrics.Email(in.Kind, "rejected")
		return Result{}, a.fail(ctx, in.Key, renderErr, ErrTypeBadInput)
	}

	id, err := a.Sender.Send(ctx, mail.Message{Key: in.Key, To: in.To, Subject: subject, Text: text, HTML: html})
	if errors.Is(err, mail.ErrPermanent) {
		metrics.Email(in.Kind, "rejected")
		return Result{}, a.fail(ctx, in.Key, err, ErrTypeRejected)
	}
	if err != nil {
		metrics.Email(in.Kind, "failed")
		if nerr := mail.NoteError(ctx, a.Pool, in.Key, err.Error()); nerr != nil {
			log.Warn("cannot record the email error", "key", in.Key, "error", nerr)
		}
		return Result{}, err // retried with backoff
	}

	metrics.Email(in.Kind, "sent")
	// The message is delivered. Failing now would send it again on retry, so
	// a row left at 'sending' is only logged; the Message-ID lets receivers
	// drop a duplicate should a later run still resend it.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if err := mail.MarkSent(mctx, a.Pool, in.Key, id); err != nil {
		log.Error("email sent but not recorded as sent", "key", in.Key, "message_id", id, "error", err)
	}
	log.Info("email sent", "key", in.Key, "kind", in.Kind, "message_id", id, "attempts", rec.Attempts)
	return Result{MessageID: id}, nil
}

// fail records a permanent failure and returns it as a non-retryable error.
func (a *Activities) fail(ctx context.Context, key string, cause error, errType string) error {
	if err := mail.MarkFailed(ctx, a.Pool, key, cause.Error()); err != nil {
		// Retried: the next attempt fails the same way and records it then.
		return err
	}
	activity.GetLogger(ctx).Warn("email cannot be sent", "key", key, "error", cause)
	return temporal.NewNonRetryableApplicationError(cause.Error(), errType, cause)
}
