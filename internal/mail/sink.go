package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// sinkMaxBytes bounds one message kept by the sink.
const sinkMaxBytes = 25 << 20

// Received is one message a Sink accepted, as it arrived.
type Received struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Data []byte   // the raw message, headers and body
	User string   // the AUTH PLAIN username, "" without AUTH
}

// Sink is an SMTP server that accepts every message: `shop mailsink` (make
// run's local SMTP server) and the tests' (mailtest). Any AUTH PLAIN login
// is accepted unless RequireAuth names one, so a sender configured with
// credentials works against it too. Set the fields before Serve.
type Sink struct {
	// Dir, when set, receives each message as <timestamp>-<n>.eml;
	// otherwise the sink keeps the messages in memory (Messages).
	Dir string
	// Log (nil: discarded) gets a line per message and the server's errors.
	Log *slog.Logger

	mu           sync.Mutex
	n            int           // messages accepted
	msgs         []Received    // kept when Dir is empty
	changed      chan struct{} // closed and replaced whenever n grows
	failCode     int
	failLeft     int
	user, pass   string
	authRequired bool
}

// RunSink serves a Sink on addr that writes every message to dir, until
// ctx ends.
func RunSink(ctx context.Context, addr, dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mail sink: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mail sink: %w", err)
	}
	log.Info("mail sink listening", "addr", ln.Addr().String(), "dir", dir)
	return (&Sink{Dir: dir, Log: log}).Serve(ctx, ln)
}

// Serve accepts SMTP connections on ln until ctx ends (then it answers nil)
// or ln fails; it closes ln.
func (s *Sink) Serve(ctx context.Context, ln net.Listener) error {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = sinkMaxBytes
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)
	// Closing ln too covers a ctx that ends before Serve has registered it.
	stop := context.AfterFunc(ctx, func() { srv.Close(); ln.Close() })
	defer stop()
	err := srv.Serve(ln)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("mail sink: %w", err)
}

// FailNext makes the next n DATA commands end with the SMTP reply code (4xx:
// try again later, 5xx: refused for good) instead of accepting the message.
func (s *Sink) FailNext(n, code int) {
	if code < 400 || code > 599 {
		panic("mail sink: FailNext needs a 4xx or 5xx code")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLeft, s.failCode = n, code
}

// RequireAuth makes the sink accept mail only after AUTH PLAIN with these
// credentials.
func (s *Sink) RequireAuth(username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass, s.authRequired = username, password, true
}

// Messages answers the messages kept so far (none when Dir is set), in order.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Wait waits until at least n messages were accepted, then answers Messages;
// it answers ctx's error when ctx ends first, with how many arrived.
func (s *Sink) Wait(ctx context.Context, n int) ([]Received, error) {
	for {
		s.mu.Lock()
		got, changed := s.n, s.changedLocked()
		s.mu.Unlock()
		if got >= n {
			return s.Messages(), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("mail sink: %d message(s) received, want %d: %w", got, n, ctx.Err())
		}
	}
}

func (s *Sink) changedLocked() chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

func (s *Sink) accept(r Received) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLeft > 0 {
		s.failLeft--
		return &smtp.SMTPError{Code: s.failCode, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "mail sink: refused as asked"}
	}
	s.n++
	name := ""
	if s.Dir != "" {
		name = fmt.Sprintf("%s-%d.eml", time.Now().UTC().Format("20060102T150405.000000000Z"), s.n)
		if err := writeNew(filepath.Join(s.Dir, name), r.Data); err != nil {
			s.n--
			s.Log.Error("mail sink: cannot store a message", "error", err)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot store the message"}
		}
	} else {
		s.msgs = append(s.msgs, r)
	}
	close(s.changedLocked())
	s.changed = make(chan struct{})
	s.Log.Info("mail received", "from", r.From, "to", strings.Join(r.To, ", "), "subject", subjectOf(r.Data), "file", name)
	return nil
}

func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return errors.Join(err, f.Close())
}

func subjectOf(data []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return ""
	}
	s := m.Header.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return dec
	}
	return s
}

type sinkSession struct {
	sink *Sink
	user string
	from string
	to   []string
}

var (
	_ smtp.Session     = (*sinkSession)(nil)
	_ smtp.AuthSession = (*sinkSession)(nil)
)

func (se *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		s := se.sink
		s.mu.Lock()
		ok := !s.authRequired || (username == s.user && password == s.pass)
		s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		se.user = username
		return nil
	}), nil
}

func (se *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	se.sink.mu.Lock()
	required := se.sink.authRequired
	se.sink.mu.Unlock()
	if required && se.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	se.from = from
	return nil
}

func (se *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

func (se *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err // smtp.ErrDataTooLarge replies 552 itself
	}
	return se.sink.accept(Received{From: se.from, To: append([]string(nil), se.to...), Data: data, User: se.user})
}

func (se *sinkSession) Reset() { se.from, se.to = "", nil }

func (se *sinkSession) Logout() error { return nil }
