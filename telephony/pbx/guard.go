package pbx

import (
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// guard keeps per-source-address token buckets and auth-failure counts, and bans addresses that
// flood or guess passwords (as Kamailio's pike module and fail2ban do). Only the offending address is
// banned; a ban expires after banFor. Its tables are bounded: entries idle for longer than banFor are
// swept, and at most maxSources are tracked.
//
// Trusted sources (a trunk's addresses, the address of a live registration) have their own, larger
// bucket and are never banned: a source address is trivially forged over UDP, and a forged flood
// must not cut the office off from its trunk or its phones. Over budget, their datagrams are
// dropped (no 503 either: that answer would go to the forged address, the real trunk) until the
// bucket refills.
type guard struct {
	clock        Clock
	rate         float64
	burst        float64
	trustedRate  float64
	trustedBurst float64
	banAfter     int
	banFor       time.Duration
	trusted      func(netip.Addr) bool
	onBan        func(netip.Addr)
	onLimit      func(netip.Addr) // a trusted source went over its budget (once per episode)

	mu      sync.Mutex
	sources map[netip.Addr]*source
	swept   time.Time
}

type source struct {
	tokens   float64
	last     time.Time
	failures int
	banned   time.Time // ban end; zero when not banned
	limited  bool      // a trusted source is over budget now
	trusted  bool      // the bucket is the trusted one
}

// maxSources bounds the table; beyond it, new sources are admitted but untracked until a sweep.
const maxSources = 100_000

// newGuard takes its budgets and ban policy from cfg (after withDefaults). trusted reports whether
// an address is trusted now; onBan and onLimit are called without the guard's lock held.
func newGuard(clock Clock, cfg Config, trusted func(netip.Addr) bool, onBan, onLimit func(netip.Addr)) *guard {
	return &guard{clock: clock, rate: cfg.RateLimit, burst: float64(cfg.RateBurst),
		trustedRate: cfg.TrustedRateLimit, trustedBurst: float64(cfg.TrustedRateBurst),
		banAfter: cfg.BanAfter, banFor: cfg.BanFor, trusted: trusted, onBan: onBan, onLimit: onLimit,
		sources: map[netip.Addr]*source{}, swept: clock.Now()}
}

// budget is the bucket's rate and size for a trusted or an untrusted source.
func (g *guard) budget(trusted bool) (rate, burst float64) {
	if trusted {
		return g.trustedRate, g.trustedBurst
	}
	return g.rate, g.burst
}

// get returns a's entry, a new one with a full bucket; nil when the table is full.
func (g *guard) get(a netip.Addr, now time.Time, trusted bool) *source {
	if now.Sub(g.swept) > g.banFor {
		for k, s := range g.sources {
			if now.Sub(s.last) > g.banFor && now.After(s.banned) {
				delete(g.sources, k)
			}
		}
		g.swept = now
	}
	s, ok := g.sources[a]
	if !ok {
		if len(g.sources) >= maxSources {
			return nil
		}
		_, burst := g.budget(trusted)
		s = &source{tokens: burst, last: now, trusted: trusted}
		g.sources[a] = s
	}
	return s
}

// allow is called for every datagram or stream read from a; false drops it. An untrusted source
// that exhausts its bucket is banned too (a flood); a trusted one is only held to its budget.
func (g *guard) allow(a netip.Addr) bool {
	a = a.Unmap()
	trusted := g.trusted(a)
	rate, burst := g.budget(trusted)
	g.mu.Lock()
	now := g.clock.Now()
	s := g.get(a, now, trusted)
	if s == nil {
		g.mu.Unlock()
		return true
	}
	if now.Before(s.banned) {
		g.mu.Unlock()
		return false
	}
	if trusted && !s.trusted {
		s.tokens = burst // just registered: its own budget starts full
	}
	s.trusted = trusted
	s.tokens = min(burst, s.tokens+now.Sub(s.last).Seconds()*rate)
	s.last = now
	if s.tokens < 1 {
		if trusted {
			first := !s.limited
			s.limited = true
			g.mu.Unlock()
			if first {
				g.onLimit(a)
			}
			return false
		}
		s.banned = now.Add(g.banFor)
		s.tokens = g.burst
		g.mu.Unlock()
		g.onBan(a)
		return false
	}
	s.tokens--
	s.limited = false
	g.mu.Unlock()
	return true
}

// authFailed counts a failed authentication from a; it bans a after banAfter failures, unless a
// is trusted.
func (g *guard) authFailed(a netip.Addr) {
	a = a.Unmap()
	trusted := g.trusted(a)
	g.mu.Lock()
	now := g.clock.Now()
	s := g.get(a, now, trusted)
	if s == nil {
		g.mu.Unlock()
		return
	}
	s.failures++
	ban := s.failures >= g.banAfter && !trusted
	if ban {
		s.failures = 0
		s.banned = now.Add(g.banFor)
	}
	g.mu.Unlock()
	if ban {
		g.onBan(a)
	}
}

// authOK clears a's failure count.
func (g *guard) authOK(a netip.Addr) {
	a = a.Unmap()
	g.mu.Lock()
	if s, ok := g.sources[a]; ok {
		s.failures = 0
	}
	g.mu.Unlock()
}

// banned reports whether a is banned now.
func (g *guard) banned(a netip.Addr) bool {
	a = a.Unmap()
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.sources[a]
	return ok && g.clock.Now().Before(s.banned)
}

// txTable holds live INVITE server transactions by source address. Over UDP a final error such as
// a 401 is retransmitted until the ACK comes, up to 32 s (RFC 3261 section 17.2.1, Timer G and H);
// a scanner never ACKs, so on a ban its transactions are terminated, which stops the resending.
type txTable struct {
	mu sync.Mutex
	m  map[netip.Addr]map[sip.ServerTransaction]struct{}
}

// add tracks tx until it terminates.
func (t *txTable) add(a netip.Addr, tx sip.ServerTransaction) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[netip.Addr]map[sip.ServerTransaction]struct{}{}
	}
	if t.m[a] == nil {
		t.m[a] = map[sip.ServerTransaction]struct{}{}
	}
	t.m[a][tx] = struct{}{}
	t.mu.Unlock()
	if !tx.OnTerminate(func(string, error) { t.remove(a, tx) }) {
		t.remove(a, tx) // already over
	}
}

func (t *txTable) remove(a netip.Addr, tx sip.ServerTransaction) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m[a], tx)
	if len(t.m[a]) == 0 {
		delete(t.m, a)
	}
}

// terminate ends every transaction from a.
func (t *txTable) terminate(a netip.Addr) {
	t.mu.Lock()
	txs := t.m[a]
	delete(t.m, a)
	t.mu.Unlock()
	for tx := range txs {
		tx.Terminate()
	}
}
