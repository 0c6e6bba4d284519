package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shopkit/shop/internal/mail"
	"github.com/shopkit/shop/internal/mail/mailtest"
	"github.com/shopkit/shop/internal/money"
)

func usd(minor int64) money.Money { return money.Money{Amount: minor, Currency: "USD"} }

func order() mail.OrderEmail {
	return mail.OrderEmail{
		CustomerName: `Ada <script>alert("x")</script>`,
		OrderID:      42,
		Lines: []mail.Line{
			{Name: "Blue mug", SKU: "MUG-BLUE", Quantity: 2, UnitPrice: usd(999), LineTotal: usd(1998)},
			{Name: "Green tea", SKU: "TEA-GREEN", Quantity: 1, UnitPrice: usd(500), LineTotal: usd(500)},
		},
		Subtotal: usd(2498), Discount: usd(250), Shipping: usd(499), Tax: usd(200), Total: usd(2947),
		Amount:          usd(1999),
		Reason:          "card declined",
		ShippingAddress: "Ada Lovelace\n1 Main Street\nLondon",
	}
}

func TestRenderEveryKind(t *testing.T) {
	cases := []struct {
		kind, subject string
		want          []string // in both parts
	}{
		{mail.KindOrderConfirmation, "Your order #42 is confirmed",
			[]string{"Blue mug", "MUG-BLUE", "9.99 USD", "19.98 USD", "24.98 USD", "-2.50 USD", "4.99 USD", "2.00 USD", "29.47 USD", "1 Main Street"}},
		{mail.KindPaymentFailed, "Payment for order #42 failed", []string{"29.47 USD", "card declined"}},
		{mail.KindOrderCancelled, "Your order #42 has been cancelled", []string{"Blue mug", "29.47 USD", "card declined"}},
		{mail.KindRefundIssued, "Refund of 19.99 USD for order #42", []string{"19.99 USD", "card declined"}},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			subject, text, html, err := mail.Render(c.kind, order())
			require.NoError(t, err)
			assert.Equal(t, c.subject, subject)
			for _, w := range c.want {
				assert.Contains(t, text, w)
				assert.Contains(t, html, w)
			}
			assert.Contains(t, text, `Hello Ada <script>alert("x")</script>,`, "the text part is not HTML")
			assert.NotContains(t, html, "<script>")
			assert.Contains(t, html, "Ada &lt;script&gt;")
			assert.NotContains(t, text, "<no value>")
			assert.NotContains(t, html, "<no value>")
		})
	}
}

func TestRenderCartReminderAndBackInStock(t *testing.T) {
	d := order()
	d.Link = "https://shop.example/cart"
	d.UnsubscribeURL = "https://shop.example/api/cart-reminders/unsubscribe?token=42.abc"
	d.ProductName = "Blue mug"
	subject, text, html, err := mail.Render(mail.KindCartReminder, d)
	require.NoError(t, err)
	assert.Equal(t, "You left something in your cart", subject)
	for _, part := range []string{text, html} {
		assert.Contains(t, part, "Blue mug")
		assert.Contains(t, part, "9.99 USD")
		assert.Contains(t, part, "https://shop.example/cart")
		assert.Contains(t, part, "unsubscribe?token=42.abc")
		assert.NotContains(t, part, "<no value>")
	}
	subject, text, html, err = mail.Render(mail.KindBackInStock, d)
	require.NoError(t, err)
	assert.Equal(t, "Blue mug is back in stock", subject)
	for _, part := range []string{text, html} {
		assert.Contains(t, part, "https://shop.example/cart")
		assert.NotContains(t, part, "<no value>")
	}
}

func TestRenderShowsADiscountOnlyWhenThereIsOne(t *testing.T) {
	d := order()
	d.Discount = money.Money{Currency: "USD"}
	_, text, html, err := mail.Render(mail.KindOrderConfirmation, d)
	require.NoError(t, err)
	assert.NotContains(t, text, "Discount")
	assert.NotContains(t, html, "Discount")

	d.Discount = usd(-250) // stored negative: shown the same
	_, text, _, err = mail.Render(mail.KindOrderConfirmation, d)
	require.NoError(t, err)
	assert.Contains(t, text, "Discount: -2.50 USD")
}

func TestRenderRefusesAnUnknownKind(t *testing.T) {
	_, _, _, err := mail.Render("newsletter", order())
	assert.ErrorIs(t, err, mail.ErrUnknownKind)
}

func TestMessageIDDependsOnlyOnTheKey(t *testing.T) {
	a := mail.MessageID("order-42-confirmation")
	assert.Equal(t, a, mail.MessageID("order-42-confirmation"))
	assert.NotEqual(t, a, mail.MessageID("order-43-confirmation"))
	_, err := netmail.ParseAddress(strings.Trim(a, "<>"))
	assert.NoError(t, err, "a Message-ID has the syntax of an address")
}

func newSender(t *testing.T, srv *mailtest.Server, user, pass string) *mail.Sender {
	t.Helper()
	s, err := mail.NewSender(mail.Config{Addr: srv.Addr(), From: "Shop <orders@shop.test>", Username: user, Password: pass})
	require.NoError(t, err)
	return s
}

func TestSendDeliversAMultipartAlternativeMessage(t *testing.T) {
	srv := mailtest.Start(t)
	subject, text, html, err := mail.Render(mail.KindOrderConfirmation, order())
	require.NoError(t, err)
	subject += " ✓" // non-ASCII goes through an encoded word

	id, err := newSender(t, srv, "", "").Send(context.Background(), mail.Message{
		Key: "order-42-confirmation", To: "Ada <ada@example.com>", Subject: subject, Text: text, HTML: html,
	})
	require.NoError(t, err)
	assert.Equal(t, mail.MessageID("order-42-confirmation"), id)

	msgs := srv.WaitFor(t, 1, 5*time.Second)
	require.Len(t, msgs, 1)
	assert.Equal(t, "orders@shop.test", msgs[0].From)
	assert.Equal(t, []string{"ada@example.com"}, msgs[0].To)
	assert.Empty(t, msgs[0].User, "no AUTH without a username")

	m, err := netmail.ReadMessage(bytes.NewReader(msgs[0].Data))
	require.NoError(t, err)
	from, err := m.Header.AddressList("From")
	require.NoError(t, err)
	assert.Equal(t, []*netmail.Address{{Name: "Shop", Address: "orders@shop.test"}}, from)
	to, err := m.Header.AddressList("To")
	require.NoError(t, err)
	assert.Equal(t, []*netmail.Address{{Name: "Ada", Address: "ada@example.com"}}, to)
	gotSubject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	assert.Equal(t, subject, gotSubject)
	assert.Equal(t, id, m.Header.Get("Message-ID"))
	assert.Equal(t, "1.0", m.Header.Get("MIME-Version"))
	_, err = m.Header.Date()
	assert.NoError(t, err)

	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mt)
	parts := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "quoted-printable", p.Header.Get("Content-Transfer-Encoding"))
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		require.NoError(t, err)
		parts[ct] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	require.Len(t, parts, 2)
	assert.Equal(t, text, parts["text/plain"])
	assert.Equal(t, html, parts["text/html"])
}

func TestSendAuthenticatesOnlyWithAUsername(t *testing.T) {
	srv := mailtest.Start(t)
	srv.RequireAuth("shop", "s3cret")
	msg := mail.Message{Key: "k", To: "ada@example.com", Subject: "s", Text: "t", HTML: "<p>t</p>"}

	_, err := newSender(t, srv, "", "").Send(context.Background(), msg)
	require.Error(t, err, "the server wants AUTH")

	_, err = newSender(t, srv, "shop", "wrong").Send(context.Background(), msg)
	require.Error(t, err)
	assert.NotErrorIs(t, err, mail.ErrPermanent, "bad credentials are fixed by configuration, then retried")
	assert.NotContains(t, err.Error(), "wrong")

	_, err = newSender(t, srv, "shop", "s3cret").Send(context.Background(), msg)
	require.NoError(t, err)
	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "shop", msgs[0].User)
}

func TestSendClassifiesFailures(t *testing.T) {
	srv := mailtest.Start(t)
	s := newSender(t, srv, "", "")
	msg := mail.Message{Key: "k", To: "ada@example.com", Subject: "s", Text: "t", HTML: "<p>t</p>"}

	srv.FailNext(1, 550)
	_, err := s.Send(context.Background(), msg)
	assert.ErrorIs(t, err, mail.ErrPermanent, "5xx")

	srv.FailNext(1, 451)
	_, err = s.Send(context.Background(), msg)
	require.Error(t, err)
	assert.NotErrorIs(t, err, mail.ErrPermanent, "4xx")

	_, err = s.Send(context.Background(), mail.Message{Key: "k", To: "not an address"})
	assert.ErrorIs(t, err, mail.ErrPermanent, "a malformed recipient")

	down, err := mail.NewSender(mail.Config{Addr: "127.0.0.1:1", From: "orders@shop.test"})
	require.NoError(t, err)
	_, err = down.Send(context.Background(), msg)
	require.Error(t, err)
	assert.NotErrorIs(t, err, mail.ErrPermanent, "connection refused")

	assert.Empty(t, srv.Messages())
	_, err = s.Send(context.Background(), msg)
	require.NoError(t, err)
	assert.Len(t, srv.Messages(), 1)
}

func TestNewSenderChecksTheConfig(t *testing.T) {
	_, err := mail.NewSender(mail.Config{Addr: "localhost", From: "orders@shop.test"})
	assert.Error(t, err, "no port")
	_, err = mail.NewSender(mail.Config{Addr: "localhost:25", From: "orders"})
	assert.Error(t, err, "no address")
}

func TestConfigNeverShowsThePassword(t *testing.T) {
	cfg := mail.Config{Addr: "smtp.test:587", From: "orders@shop.test", Username: "shop", Password: "s3cret"}
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "smtp", cfg)
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "smtp", cfg)
	assert.NotContains(t, b.String(), "s3cret")
	assert.Contains(t, b.String(), "smtp.test:587")
	assert.NotContains(t, cfg.String(), "s3cret")
}

func TestSinkStoresEveryMessage(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mail.RunSink(ctx, addr, dir, slog.New(slog.DiscardHandler)) }()

	s, err := mail.NewSender(mail.Config{Addr: addr, From: "orders@shop.test", Username: "any", Password: "thing"})
	require.NoError(t, err)
	msg := mail.Message{Key: "k", To: "ada@example.com", Subject: "Hello", Text: "t", HTML: "<p>t</p>"}
	require.Eventually(t, func() bool {
		_, err = s.Send(ctx, msg)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond, "sink not accepting: %v", err)
	_, err = s.Send(ctx, msg)
	require.NoError(t, err)

	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	require.Len(t, files, 2)
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, "Hello", m.Header.Get("Subject"))

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the sink did not stop with its context")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func TestRenderReturnEmails(t *testing.T) {
	d := order()
	d.ReturnID = 7
	cases := []struct{ kind, subject string }{
		{mail.KindReturnApproved, "Your return #7 for order #42 is approved"},
		{mail.KindReturnRefused, "Your return #7 for order #42 was not accepted"},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			subject, text, html, err := mail.Render(c.kind, d)
			require.NoError(t, err)
			assert.Equal(t, c.subject, subject)
			for _, w := range []string{"Blue mug", "MUG-BLUE", "card declined", "#7"} {
				assert.Contains(t, text, w)
				assert.Contains(t, html, w)
			}
			assert.NotContains(t, html, "<script>")
			assert.NotContains(t, text, "<no value>")
			assert.NotContains(t, html, "<no value>")
		})
	}
}
