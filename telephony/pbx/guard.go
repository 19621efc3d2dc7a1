package pbx

import (
	"net/netip"
	"sync"
	"time"
)

// guard keeps per-source-address token buckets and auth-failure counts, and bans addresses that
// flood or guess passwords (as Kamailio's pike module and fail2ban do). Only the offending address is
// banned; a ban expires after banFor. Its tables are bounded: entries idle for longer than banFor are
// swept, and at most maxSources are tracked.
type guard struct {
	clock    Clock
	rate     float64
	burst    float64
	banAfter int
	banFor   time.Duration
	onBan    func(netip.Addr)

	mu      sync.Mutex
	sources map[netip.Addr]*source
	swept   time.Time
}

type source struct {
	tokens   float64
	last     time.Time
	failures int
	banned   time.Time // ban end; zero when not banned
}

// maxSources bounds the table; beyond it, new sources are admitted but untracked until a sweep.
const maxSources = 100_000

func newGuard(clock Clock, rate float64, burst, banAfter int, banFor time.Duration, onBan func(netip.Addr)) *guard {
	return &guard{clock: clock, rate: rate, burst: float64(burst), banAfter: banAfter, banFor: banFor, onBan: onBan,
		sources: map[netip.Addr]*source{}, swept: clock.Now()}
}

func (g *guard) get(a netip.Addr, now time.Time) *source {
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
		s = &source{tokens: g.burst, last: now}
		g.sources[a] = s
	}
	return s
}

// allow is called for every datagram or stream read from a; false drops it. A source that exhausts
// its bucket is banned too (a flood).
func (g *guard) allow(a netip.Addr) bool {
	a = a.Unmap()
	g.mu.Lock()
	now := g.clock.Now()
	s := g.get(a, now)
	if s == nil {
		g.mu.Unlock()
		return true
	}
	if now.Before(s.banned) {
		g.mu.Unlock()
		return false
	}
	s.tokens = min(g.burst, s.tokens+now.Sub(s.last).Seconds()*g.rate)
	s.last = now
	if s.tokens < 1 {
		s.banned = now.Add(g.banFor)
		s.tokens = g.burst
		g.mu.Unlock()
		g.onBan(a)
		return false
	}
	s.tokens--
	g.mu.Unlock()
	return true
}

// authFailed counts a failed authentication from a; it bans a after banAfter failures.
func (g *guard) authFailed(a netip.Addr) {
	a = a.Unmap()
	g.mu.Lock()
	now := g.clock.Now()
	s := g.get(a, now)
	if s == nil {
		g.mu.Unlock()
		return
	}
	s.failures++
	ban := s.failures >= g.banAfter
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
