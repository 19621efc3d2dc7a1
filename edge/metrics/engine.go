package metrics

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/store"
)

// Store is what the engine reads: the change generation of the calls table and a narrow scan of
// call facts. *store.Store implements it (edge/store/metrics_facts.go).
type Store interface {
	MetricsChanges(ctx context.Context, since int64) (gen int64, hours []int64, err error)
	MetricsFacts(ctx context.Context, from, to time.Time, fn func(*store.MetricsRow) error) error
}

// Filter selects a slice: every non-empty field must match the call exactly; empty fields match
// anything. Any combination is allowed.
type Filter struct {
	TrackingNumber string `json:"tracking_number,omitempty"`
	Source         string `json:"source,omitempty"`
	Campaign       string `json:"campaign,omitempty"`
	Medium         string `json:"medium,omitempty"`
	Queue          string `json:"queue,omitempty"`
	Agent          string `json:"agent,omitempty"`
	Line           string `json:"line,omitempty"`
}

func (f Filter) values() [nDims]string {
	return [nDims]string{f.TrackingNumber, f.Source, f.Campaign, f.Medium, f.Queue, f.Agent, f.Line}
}

// sourceOnly reports whether the filter constrains nothing but (at most) the source: the slices to
// which fixed costs without any call in the period are charged (doc.go, "Cost").
func (f Filter) sourceOnly() bool {
	return f.TrackingNumber == "" && f.Campaign == "" && f.Medium == "" && f.Queue == "" && f.Agent == "" && f.Line == ""
}

// The dimensions a call is sliced by, in the order of a fact's dims.
const (
	dimTrackingNumber = iota
	dimSource
	dimCampaign
	dimMedium
	dimQueue
	dimAgent
	dimLine
	nDims
)

// fact flags.
const (
	flagAnswered = 1 << iota
	flagFirstTime
	flagWithheld
	flagLeadSet // a staff member decided; flagLeadValue holds the decision
	flagLeadValue
	flagConverted
)

// fact is one call as the engine keeps it in memory: 80 bytes, strings replaced by dictionary
// indices, local hour and weekday computed once at load in the site's zone.
type fact struct {
	arrivedMs    int64
	revenueCents int64
	waitMs       uint32
	talkMs       uint32
	holdMs       uint32
	billedMs     uint32 // ended - answered of an answered call: what the carrier bills
	holdCount    uint16
	outcome      uint8 // 0: live; else index in call.Outcomes + 1
	flags        uint8
	hour         uint8 // local
	weekday      uint8 // local, Sunday = 0
	dims         [nDims]uint32
	attr         uint32 // index of (source, campaign, medium) in Engine.attrs: the source-table row
}

// dict interns the values of one dimension.
type dict struct {
	index map[string]uint32
	names []string
}

// idBytes is id without allocating for a value already known.
func (d *dict) idBytes(b []byte) uint32 {
	if i, ok := d.index[string(b)]; ok {
		return i
	}
	return d.id(string(b))
}

func (d *dict) id(s string) uint32 {
	if i, ok := d.index[s]; ok {
		return i
	}
	if d.index == nil {
		d.index = map[string]uint32{}
	}
	i := uint32(len(d.names))
	d.index[s] = i
	d.names = append(d.names, s)
	return i
}

// Engine computes the metrics of product.md from the store's call records. It is safe for
// concurrent use.
//
// It keeps an in-memory cache of compact per-call facts by local day, filled on demand and kept
// exact by the store's change generation (migration 0002): before each report it asks the store
// which UTC hours changed since it last looked and drops the local days holding them. The cache
// holds raw facts only; every knob (service level, short abandon, lead rule, costs, billing
// increment) is applied at report time, so a config change takes effect at the next report.
// A restart starts with an empty cache and computes the same figures (doc.go, "Speed"). The cache
// holds at most cfg.Metrics.CacheMB between reports (0: no bound), least recently read days
// going first.
type Engine struct {
	st  Store
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex // guards everything below
	cfg    *config.Config
	loc    *time.Location
	dicts  [nDims]dict
	attrs  map[[3]uint32]uint32 // (source, campaign, medium) indices -> row of the source table
	attrOf [][3]uint32          // and back
	days   map[int32]*dayEntry  // local day number -> its facts; present = loaded
	gen    int64
	synced bool
	limit  int64  // bytes the cache may hold after a report (config metrics.cache_mb)
	tick   uint64 // reports served: a day's lastUsed
}

// New returns an engine reading st, with the site's zone and metric knobs from cfg and now as its
// clock.
func New(st Store, cfg *config.Config, now func() time.Time, log *slog.Logger) *Engine {
	e := &Engine{st: st, log: log, now: now, days: map[int32]*dayEntry{}}
	e.SetConfig(cfg)
	return e
}

// SetConfig switches to a new config (after a reload). Knob changes need no cache work; a new
// time zone empties the cache, since local days and hours change.
func (e *Engine) SetConfig(cfg *config.Config) {
	loc := cfg.Site.Location
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation(cfg.Site.TimeZone); err != nil {
			loc = time.UTC
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loc == nil || e.loc.String() != loc.String() {
		e.days = map[int32]*dayEntry{}
	}
	e.cfg, e.loc = cfg, loc
	e.limit = int64(cfg.Metrics.CacheMB) << 20
	e.evictLocked()
}

// CacheSize reports what the cache holds: local days, and their bytes (facts and partial
// results, as allocated).
func (e *Engine) CacheSize() (days int, bytes int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.days {
		bytes += d.bytes()
	}
	return len(e.days), bytes
}

// Location is the site's zone, in which periods are cut.
func (e *Engine) Location() *time.Location {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.loc
}

// Today is the current local day, by the engine's clock.
func (e *Engine) Today() Period {
	loc := e.Location()
	start := localMidnight(e.now(), loc)
	return Period{From: start, To: localMidnight(start.Add(36*time.Hour), loc)}
}

// ThisMonth is the current local calendar month, by the engine's clock.
func (e *Engine) ThisMonth() Period {
	loc := e.Location()
	t := e.now().In(loc)
	return Month(loc, t.Year(), t.Month())
}

// Warm loads the facts of p into the cache and prepares each whole day's unsliced partial
// result with the current knobs (e.g. for the last 13 months, in the background at start), so the
// first unsliced report over p is as fast as a repeated one.
func (e *Engine) Warm(ctx context.Context, p Period) error {
	_, err := e.Report(ctx, p, Filter{})
	return err
}

// dayEntry is one cached local day. Its facts never change once loaded (a reload replaces the
// entry), so reports read them without the engine's lock.
type dayEntry struct {
	facts          []fact
	startMs, endMs int64  // local midnights bounding the day
	outcomes       [8]int // facts by outcome index: the size of the unsliced value lists
	lastUsed       uint64 // Engine.tick of the last report that read the day; guarded by Engine.mu

	mu        sync.Mutex // guards memo
	memo      map[memoKey]*acc
	memoBytes atomic.Int64 // bytes of the partial results in memo
}

// factSize is the bytes of one cached fact.
const factSize = int64(unsafe.Sizeof(fact{}))

// bytes is what the day holds in memory: its facts and its partial results.
func (d *dayEntry) bytes() int64 {
	return int64(cap(d.facts))*factSize + d.memoBytes.Load()
}

// memoKey names one day's partial result: the slice and every knob the scan applied.
type memoKey struct {
	f Filter
	k knobs
}

// maxMemo bounds the partial results kept per day (a dashboard asks a few slices again and again).
const maxMemo = 4

func (d *dayEntry) memoGet(k memoKey) *acc {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.memo[k]
}

func (d *dayEntry) memoPut(k memoKey, a *acc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.memo == nil {
		d.memo = map[memoKey]*acc{}
	}
	if len(d.memo) >= maxMemo {
		for old, oa := range d.memo { // evict any one
			delete(d.memo, old)
			d.memoBytes.Add(-oa.bytes())
			break
		}
	}
	d.memo[k] = a
	d.memoBytes.Add(a.bytes())
}

// snapshot is what one report reads, taken under the lock.
type snapshot struct {
	cfg   *config.Config
	loc   *time.Location
	names [nDims][]string
	attrs [][3]uint32
	days  []*dayEntry // the local days of the period, in order
	first int32       // day number of days[0]
	dims  [nDims]int64
}

// Report computes every metric for the calls that arrived in p and match f.
func (e *Engine) Report(ctx context.Context, p Period, f Filter) (*Report, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	snap, err := e.loadLocked(ctx, p)
	if err == nil {
		for d, v := range f.values() {
			snap.dims[d] = -1 // any
			if v != "" {
				id, ok := e.dicts[d].index[v]
				if !ok {
					snap.dims[d] = -2 // a value no call has: matches nothing
				} else {
					snap.dims[d] = int64(id)
				}
			}
		}
	}
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	rep := compute(snap, p, f)
	// Back within the cache's bound, now that this report's partial results are counted. A
	// period larger than the cache was computed whole and is partly read again next time.
	e.mu.Lock()
	e.evictLocked()
	e.mu.Unlock()
	return rep, nil
}

// loadLocked brings the cache up to date for p and returns the report's snapshot. e.mu is held.
func (e *Engine) loadLocked(ctx context.Context, p Period) (*snapshot, error) {
	gen, hours, err := e.st.MetricsChanges(ctx, e.gen)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if !e.synced {
		// Nothing cached yet: every day will be read fresh.
		e.days = map[int32]*dayEntry{}
	} else {
		for _, h := range hours {
			start := time.UnixMilli(h * 3600_000)
			a, b := localDay(start, e.loc), localDay(start.Add(time.Hour-time.Millisecond), e.loc)
			for d := a; d <= b; d++ {
				delete(e.days, d)
			}
		}
	}
	first, last := p.days(e.loc)
	for d := first; d <= last; {
		if _, ok := e.days[d]; ok {
			d++
			continue
		}
		end := d
		for end+1 <= last {
			if _, ok := e.days[end+1]; ok {
				break
			}
			end++
		}
		if err := e.loadDaysLocked(ctx, d, end); err != nil {
			return nil, err
		}
		d = end + 1
	}
	// Every change up to gen is now reflected: the days it touched were dropped above and any
	// day the period needs was read after gen was taken.
	e.gen, e.synced = gen, true

	s := &snapshot{cfg: e.cfg, loc: e.loc, first: first}
	for d := range nDims {
		s.names[d] = e.dicts[d].names
	}
	s.attrs = e.attrOf
	s.days = make([]*dayEntry, 0, last-first+1)
	e.tick++
	for d := first; d <= last; d++ {
		de := e.days[d]
		de.lastUsed = e.tick
		s.days = append(s.days, de)
	}
	return s, nil
}

// evictLocked drops the least recently used days, and of days last used by the same report the
// oldest first, until the cache holds at most e.limit bytes. e.mu is held.
func (e *Engine) evictLocked() {
	if e.limit <= 0 {
		return
	}
	var total int64
	for _, d := range e.days {
		total += d.bytes()
	}
	if total <= e.limit {
		return
	}
	order := make([]int32, 0, len(e.days))
	for n := range e.days {
		order = append(order, n)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(e.days[a].lastUsed, e.days[b].lastUsed); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, n := range order {
		if total <= e.limit {
			break
		}
		total -= e.days[n].bytes()
		delete(e.days, n)
	}
}

// loadDaysLocked reads the local days first..last from the store.
func (e *Engine) loadDaysLocked(ctx context.Context, first, last int32) error {
	for d := first; d <= last; d++ {
		e.days[d] = &dayEntry{startMs: dayStart(d, e.loc).UnixMilli(), endMs: dayStart(d+1, e.loc).UnixMilli()}
	}
	loc := e.loc
	err := e.st.MetricsFacts(ctx, dayStart(first, loc), dayStart(last+1, loc), func(r *store.MetricsRow) error {
		t := time.UnixMilli(r.ArrivedMs).In(loc)
		y, m, dd := t.Date()
		day := dayNum(y, m, dd)
		f := fact{
			arrivedMs:    r.ArrivedMs,
			revenueCents: r.RevenueCents,
			waitMs:       clampMs(r.WaitMs),
			talkMs:       clampMs(r.TalkMs),
			holdMs:       clampMs(r.HoldMs),
			hour:         uint8(t.Hour()),
			weekday:      uint8(t.Weekday()),
		}
		f.holdCount = uint16(min(max(r.HoldCount, 0), 65535))
		if r.AnsweredMs != 0 {
			f.flags |= flagAnswered
			if r.EndedMs != 0 {
				f.billedMs = clampMs(r.EndedMs - r.AnsweredMs)
			}
		}
		if r.FirstTime {
			f.flags |= flagFirstTime
		}
		if r.Withheld {
			f.flags |= flagWithheld
		}
		if r.Lead >= 0 {
			f.flags |= flagLeadSet
			if r.Lead > 0 {
				f.flags |= flagLeadValue
			}
		}
		if r.Converted {
			f.flags |= flagConverted
		}
		for i, o := range call.Outcomes {
			if string(o) == string(r.Outcome) {
				f.outcome = uint8(i + 1)
			}
		}
		for i, v := range [nDims][]byte{r.TrackingNumber, r.Source, r.Campaign, r.Medium, r.Queue, r.Agent, r.Line} {
			f.dims[i] = e.dicts[i].idBytes(v)
		}
		key := [3]uint32{f.dims[dimSource], f.dims[dimCampaign], f.dims[dimMedium]}
		a, ok := e.attrs[key]
		if !ok {
			if e.attrs == nil {
				e.attrs = map[[3]uint32]uint32{}
			}
			a = uint32(len(e.attrOf))
			e.attrs[key] = a
			e.attrOf = append(e.attrOf, key)
		}
		f.attr = a
		if day < first || day > last { // cannot happen: the query is cut at local midnights
			return fmt.Errorf("metrics: call at %s outside the days read", t)
		}
		de := e.days[day]
		de.facts = append(de.facts, f)
		de.outcomes[f.outcome]++
		return nil
	})
	if err != nil {
		for d := first; d <= last; d++ {
			delete(e.days, d)
		}
		return fmt.Errorf("metrics: read calls: %w", err)
	}
	for d := first; d <= last; d++ {
		if de := e.days[d]; cap(de.facts) > len(de.facts) {
			de.facts = slices.Clone(de.facts) // drop append's spare capacity: the cache counts it
		}
	}
	return nil
}

// clampMs fits a millisecond duration in 32 bits (49 days; no call lasts that long).
func clampMs(v int64) uint32 {
	return uint32(min(max(v, 0), 1<<32-1))
}
