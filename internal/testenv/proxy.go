package testenv

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// Proxy forwards TCP connections to a real service and can play dead, so a
// test can take Redis or PostgreSQL "down" for one client and bring it back,
// or blackhole it (connections stay open, nothing arrives).
type Proxy struct {
	target    string
	ln        net.Listener
	mu        sync.Mutex
	down      bool
	conns     map[net.Conn]bool
	blackhole atomic.Bool
	refused   atomic.Int64
}

// NewProxy listens on a free loopback port in front of target (host:port).
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { _ = ln.Close(); p.SetDown(true) })
	go p.serve()
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetDown cuts every open connection and refuses new ones while down.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
		clear(p.conns)
	}
}

// Refused counts the connections turned away while down: a client that
// tried to reconnect has met the outage.
func (p *Proxy) Refused() int64 { return p.refused.Load() }

// SetBlackhole makes the proxy swallow every byte in both directions,
// without closing a connection (new ones are accepted and swallowed too),
// as a network path that silently drops packets. Connections that
// swallowed bytes are unusable after the blackhole ends.
func (p *Proxy) SetBlackhole(on bool) { p.blackhole.Store(on) }

func (p *Proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.pipe(in)
	}
}

func (p *Proxy) pipe(in net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		p.refused.Add(1)
		_ = in.Close()
		return
	}
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = in.Close()
		return
	}
	p.mu.Lock()
	p.conns[in], p.conns[out] = true, true
	p.mu.Unlock()
	go func() { p.copy(out, in); _ = out.Close() }()
	p.copy(in, out)
	_ = in.Close()
}

// copy forwards src to dst, dropping what it reads while blackholed.
func (p *Proxy) copy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.blackhole.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
