package mail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// sinkMaxBytes bounds one message kept by the sink.
const sinkMaxBytes = 25 << 20

// RunSink is an SMTP server for local development: it accepts every message,
// writes it to dir/<timestamp>-<n>.eml and logs who it was for. Any AUTH
// PLAIN login is accepted, so a sender configured with credentials works
// against it too. It returns when ctx ends.
func RunSink(ctx context.Context, addr, dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mail sink: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mail sink: %w", err)
	}
	sk := &sink{dir: dir, log: log}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: sk}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.MaxMessageBytes = sinkMaxBytes
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	// Closing ln too covers a ctx that ends before Serve has registered it.
	stop := context.AfterFunc(ctx, func() { srv.Close(); ln.Close() })
	defer stop()
	log.Info("mail sink listening", "addr", ln.Addr().String(), "dir", dir)
	err = srv.Serve(ln)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("mail sink: %w", err)
}

type sink struct {
	dir string
	log *slog.Logger
	n   atomic.Int64
}

func (sk *sink) store(from string, to []string, data []byte) error {
	n := sk.n.Add(1)
	name := fmt.Sprintf("%s-%d.eml", time.Now().UTC().Format("20060102T150405.000000000Z"), n)
	f, err := os.OpenFile(filepath.Join(sk.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		sk.log.Error("mail sink: cannot store a message", "error", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot store the message"}
	}
	sk.log.Info("mail received", "from", from, "to", strings.Join(to, ", "), "subject", subjectOf(data), "file", name)
	return nil
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
	sink *sink
	from string
	to   []string
}

func (se *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(string, string, string) error { return nil }), nil
}

func (se *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
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
	return se.sink.store(se.from, se.to, data)
}

func (se *sinkSession) Reset() { se.from, se.to = "", nil }

func (se *sinkSession) Logout() error { return nil }
