// Package mailtest runs the shop's SMTP sink (mail.Sink) in-process for a
// test: it keeps every message it accepts, and can be told to refuse some.
package mailtest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/shopkit/shop/internal/mail"
)

// Message is one accepted message as the server received it.
type Message = mail.Received

// Server is a running sink.
type Server struct {
	*mail.Sink
	addr string
}

// Start listens on 127.0.0.1 on a free port; the server stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{Sink: &mail.Sink{}, addr: ln.Addr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

// Addr is the host:port to send to.
func (s *Server) Addr() string { return s.addr }

// WaitFor waits until at least n messages were accepted and returns them; it
// fails the test after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	msgs, err := s.Wait(ctx, n)
	if err != nil {
		t.Fatalf("mailtest: %v", err)
	}
	return msgs
}
