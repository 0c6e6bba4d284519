// Package mail renders the shop's transactional emails and delivers them
// over SMTP. Sending is classified so that callers retry what can succeed
// later (network trouble, 4xx) and give up on what never will (5xx).
package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// ErrPermanent marks a message the server refused for good (a 5xx reply, an
// invalid address): sending it again cannot succeed.
var ErrPermanent = errors.New("mail: permanently rejected")

// Config says where and as whom mail is sent.
type Config struct {
	Addr     string // host:port of the SMTP server
	From     string // "Shop <orders@shop.example>"
	Username string // AUTH PLAIN is used only when set
	Password string
}

// LogValue keeps the password out of logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("addr", c.Addr), slog.String("from", c.From), slog.String("username", c.Username))
}

// String keeps the password out of fmt output.
func (c Config) String() string {
	return fmt.Sprintf("smtp://%s (from %s, user %q)", c.Addr, c.From, c.Username)
}

// Message is one email to one recipient.
type Message struct {
	// Key identifies the business event; the Message-ID is derived from it.
	Key     string
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers messages to one SMTP server, a connection per message.
type Sender struct {
	cfg  Config
	from *mail.Address
}

// NewSender checks the configuration.
func NewSender(cfg Config) (*Sender, error) {
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("mail: SMTP address %q: %w", cfg.Addr, err)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: from address %q: %w", cfg.From, err)
	}
	return &Sender{cfg: cfg, from: from}, nil
}

// MessageID is the Message-ID header of the email for key. It is the same on
// every attempt, so a receiver can drop a copy delivered twice.
func MessageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "<" + hex.EncodeToString(sum[:16]) + "@shop>"
}

// Send delivers m and returns its Message-ID. The error wraps ErrPermanent
// when retrying cannot help.
func (s *Sender) Send(ctx context.Context, m Message) (string, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return "", fmt.Errorf("%w: recipient %q: %v", ErrPermanent, m.To, err)
	}
	id := MessageID(m.Key)
	raw, err := s.build(m, to, id, time.Now())
	if err != nil {
		return "", err
	}
	if err := s.deliver(ctx, to.Address, raw); err != nil {
		return "", err
	}
	return id, nil
}

func (s *Sender) deliver(ctx context.Context, to string, raw []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("mail: connect %s: %w", s.cfg.Addr, err)
	}
	// go-smtp takes no context and resets connection deadlines per command:
	// closing the connection is what unblocks it when ctx ends.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c := smtp.NewClient(conn)
	defer c.Close()

	if s.cfg.Username != "" {
		// A refused login is our configuration, not the message: it stays
		// retryable so mail queued meanwhile goes out once it is fixed.
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return fmt.Errorf("mail: SMTP AUTH as %q at %s: %w", s.cfg.Username, s.cfg.Addr, err)
		}
	}
	if err := c.Mail(s.from.Address, nil); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		return classify("DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify("DATA", err)
	}
	// The message is accepted: a failed QUIT must not cause a resend.
	_ = c.Quit()
	return nil
}

func classify(stage string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code < 600 {
		return fmt.Errorf("%w: %s: %w", ErrPermanent, stage, err)
	}
	return fmt.Errorf("mail: %s: %w", stage, err)
}

// build writes a multipart/alternative message with CRLF line ends; the
// HTML part comes last because clients show the last part they understand.
func (s *Sender) build(m Message, to *mail.Address, id string, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	hdr := []struct{ k, v string }{
		{"From", s.from.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject))},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", id},
		{"MIME-Version", "1.0"},
		{"Content-Type", `multipart/alternative; boundary="` + mw.Boundary() + `"`},
	}
	for _, h := range hdr {
		b.WriteString(h.k + ": " + h.v + "\r\n")
	}
	b.WriteString("\r\n")
	for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(p.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// oneLine keeps a header value on one line whatever the template produced.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
