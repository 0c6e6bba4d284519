// Package mailtest runs an in-process SMTP server that keeps every message
// it accepts, and can be told to refuse some, for tests of code that sends
// mail.
package mailtest

import (
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted message as the server received it.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Data []byte   // the raw message, headers and body
	User string   // the AUTH PLAIN username, "" without AUTH
}

// Server is a running test SMTP server.
type Server struct {
	srv *smtp.Server
	ln  net.Listener

	mu           sync.Mutex
	msgs         []Message
	changed      chan struct{} // closed and replaced whenever msgs grows
	failCode     int
	failLeft     int
	user         string
	pass         string
	authRequired bool
}

// Start listens on 127.0.0.1 on a free port; the server stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{ln: ln, changed: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "mailtest.local"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.srv.Close()
		_ = ln.Close() // in case Serve had not registered it yet
		<-done
	})
	return s
}

// Addr is the host:port to send to.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// FailNext makes the next n DATA commands end with the SMTP reply code (4xx:
// try again later, 5xx: refused for good) instead of accepting the message.
func (s *Server) FailNext(n, code int) {
	if code < 400 || code > 599 {
		panic("mailtest: FailNext needs a 4xx or 5xx code")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLeft, s.failCode = n, code
}

// RequireAuth makes the server accept mail only after AUTH PLAIN with these credentials.
func (s *Server) RequireAuth(username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass, s.authRequired = username, password, true
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor waits until at least n messages were accepted and returns them; it
// fails the test after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("mailtest: %d message(s) received within %v, want %d", got, timeout, n)
			return nil
		}
	}
}

type session struct {
	s    *Server
	user string
	from string
	to   []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		se.s.mu.Lock()
		ok := username == se.s.user && password == se.s.pass
		se.s.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		se.user = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.s.mu.Lock()
	required := se.s.authRequired
	se.s.mu.Unlock()
	if required && se.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := se.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLeft > 0 {
		s.failLeft--
		return &smtp.SMTPError{Code: s.failCode, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "mailtest: refused as asked"}
	}
	s.msgs = append(s.msgs, Message{From: se.from, To: append([]string(nil), se.to...), Data: data, User: se.user})
	close(s.changed)
	s.changed = make(chan struct{})
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }
