package cache

import (
	"container/list"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// The local level: each process may keep the encoded responses it served
// (one variant per wire format, e.g. JSON and protobuf) in memory, so a hit
// costs no Redis round trip and no decoding or encoding.
//
// Invalidate and InvalidateTag publish on a Redis channel (in the same
// transaction or script that bumps the generations); every process with a
// local level subscribes and drops what it names. The local level serves
// only while that subscription is up: when it fails, the level is flushed
// and bypassed until Redis confirms the subscription again, so no message
// lost meanwhile can leave a stale entry. A short TTL bounds what a silently
// broken connection could leave behind.
//
// A fill stores locally only if no invalidation (nor flush) arrived since
// it took its ticket, taken before it read Redis: an invalidation published
// after that read is delivered after the ticket, so it either stops the
// store or drops the entry once stored. GetOrLoad shares a load only among
// callers under the same epoch, so a caller never keeps bytes that another
// caller's load read before the caller's ticket.

// LocalConfig sizes the local level.
type LocalConfig struct {
	// MaxBytes bounds the bytes held (values and keys); <= 0 means 64 MiB.
	MaxBytes int64
	// TTL bounds how long an entry is served; <= 0 means 5 s.
	TTL time.Duration
}

const (
	defaultLocalBytes = 64 << 20
	defaultLocalTTL   = 5 * time.Second
	pingEvery         = 2 * time.Second // checks an idle subscription is still alive
	maxBackoff        = 2 * time.Second
)

type local struct {
	max int64
	ttl time.Duration

	mu    sync.Mutex
	ll    *list.List               // most recently used first
	items map[string]*list.Element // by key; values are *localEntry
	tags  map[string]map[string]struct{}
	bytes int64

	// epoch moves on every invalidation message and flush (under mu).
	epoch atomic.Uint64
	live  atomic.Bool // subscribed: entries may be served and stored
	hits  atomic.Int64
}

type localEntry struct {
	key      string
	variants map[string][]byte // never modified once stored
	tags     []string
	size     int64
	expires  int64 // unix nanoseconds
}

// channel is the pub/sub channel invalidations are announced on.
func (c *Cache) channel() string { return c.prefix + "invalidate" }

// StartLocal turns on the local level and subscribes to invalidations; stop
// ends the subscription (the level then stops serving). Call it once,
// before serving.
func (c *Cache) StartLocal(cfg LocalConfig) (stop func()) {
	l := &local{max: cfg.MaxBytes, ttl: cfg.TTL, ll: list.New(), items: map[string]*list.Element{}, tags: map[string]map[string]struct{}{}}
	if l.max <= 0 {
		l.max = defaultLocalBytes
	}
	if l.ttl <= 0 {
		l.ttl = defaultLocalTTL
	}
	c.local = l
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.subscribe(ctx, l)
	}()
	return func() {
		cancel()
		<-done
	}
}

// subscribe follows the invalidation channel until ctx ends, with a fresh
// subscription after any failure.
func (c *Cache) subscribe(ctx context.Context, l *local) {
	defer l.down()
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		if err := c.follow(ctx, l); err != nil && ctx.Err() == nil {
			if l.live.Load() {
				c.log.Warn("cache: invalidation subscription lost; local level off until it is back", "err", err)
			}
			l.down()
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = 50 * time.Millisecond
	}
}

// follow runs one subscription until it fails or ctx ends.
func (c *Cache) follow(ctx context.Context, l *local) error {
	ps := c.rdb.Subscribe(ctx, c.channel())
	defer ps.Close()
	defer context.AfterFunc(ctx, func() { _ = ps.Close() })() // a blocked receive does not watch ctx
	lastSeen := time.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || ctx.Err() != nil {
				return err
			}
			if time.Since(lastSeen) > 2*pingEvery {
				return errors.New("no answer to ping") // a silently broken connection
			}
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			continue
		}
		lastSeen = time.Now()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				// Whatever was published before this point is lost to us.
				l.flush()
				l.live.Store(true)
			}
		case *redis.Message:
			kind, name, _ := strings.Cut(m.Payload, ":")
			if kind == "t" {
				l.dropTag(name)
			} else {
				l.drop(name)
			}
		}
	}
}

// down stops serving and drops everything.
func (l *local) down() {
	l.live.Store(false)
	l.flush()
}

func (l *local) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch.Add(1)
	l.ll.Init()
	clear(l.items)
	clear(l.tags)
	l.bytes = 0
}

func (l *local) drop(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch.Add(1)
	if el, ok := l.items[key]; ok {
		l.remove(el)
	}
}

func (l *local) dropTag(tag string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch.Add(1)
	for key := range l.tags[tag] {
		if el, ok := l.items[key]; ok {
			l.remove(el)
		}
	}
	delete(l.tags, tag)
}

// remove unlinks el; l.mu is held.
func (l *local) remove(el *list.Element) {
	e := el.Value.(*localEntry)
	l.ll.Remove(el)
	delete(l.items, e.key)
	l.bytes -= e.size
	for _, t := range e.tags {
		if s := l.tags[t]; s != nil {
			delete(s, e.key)
			if len(s) == 0 {
				delete(l.tags, t)
			}
		}
	}
}

// Local returns the variants of key held in this process, or nil. The map
// and its slices are shared: do not modify them.
func (c *Cache) Local(key string) map[string][]byte {
	l := c.local
	if l == nil || !l.live.Load() {
		return nil
	}
	now := time.Now().UnixNano()
	l.mu.Lock()
	el, ok := l.items[key]
	if !ok {
		l.mu.Unlock()
		return nil
	}
	e := el.Value.(*localEntry)
	if now > e.expires {
		l.remove(el)
		l.mu.Unlock()
		return nil
	}
	l.ll.MoveToFront(el)
	l.mu.Unlock()
	l.hits.Add(1)
	return e.variants
}

// LocalTicket is taken before GetOrLoad reads what PutLocal will store.
func (c *Cache) LocalTicket() uint64 {
	if c.local == nil {
		return 0
	}
	return c.local.epoch.Load()
}

// PutLocal keeps the variants of key in this process, unless an
// invalidation or a flush came after ticket, or the level is not serving.
// Pass the tags given to GetOrLoad. The caller must not modify variants
// afterwards.
func (c *Cache) PutLocal(ticket uint64, key string, variants map[string][]byte, opts ...Option) {
	l := c.local
	if l == nil || !l.live.Load() {
		return
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	size := int64(len(key)) + 64
	for k, v := range variants {
		size += int64(len(k) + len(v))
	}
	if size > l.max/8 {
		return // one entry must not flush the level
	}
	e := &localEntry{key: key, variants: variants, tags: o.tags, size: size, expires: time.Now().Add(l.ttl).UnixNano()}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epoch.Load() != ticket || !l.live.Load() {
		return
	}
	if el, ok := l.items[key]; ok {
		l.remove(el)
	}
	l.items[key] = l.ll.PushFront(e)
	l.bytes += size
	for _, t := range e.tags {
		s := l.tags[t]
		if s == nil {
			s = map[string]struct{}{}
			l.tags[t] = s
		}
		s[key] = struct{}{}
	}
	for l.bytes > l.max {
		l.remove(l.ll.Back())
	}
}

// LocalServing says whether the local level is on and subscribed.
func (c *Cache) LocalServing() bool { return c.local != nil && c.local.live.Load() }

func (c *Cache) localHits() int64 {
	if c.local == nil {
		return 0
	}
	return c.local.hits.Load()
}
