package appliance

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/recorder"
)

// stepClock is a wall clock a test sets, steps and synchronises, with a monotonic reading that
// only moves forward with the time that really passes (advance), not with a step of the wall clock.
type stepClock struct {
	mu     sync.Mutex
	wall   time.Time
	mono   time.Duration
	synced bool
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.wall }
func (c *stepClock) Monotonic() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}
func (c *stepClock) Synced() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.synced }

// advance lets d pass: both readings move.
func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall, c.mono = c.wall.Add(d), c.mono+d
}

// step sets the wall clock to t (a jump, or time sync arriving); the monotonic reading stays.
func (c *stepClock) step(t time.Time, synced bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall, c.synced = t, synced
}

// retentionFixture is the parts retention works on: the store (call records, 30 days) and the
// recordings folder with its keeper (30 days), on a state folder of their own.
type retentionFixture struct {
	t     *testing.T
	clock *stepClock
	logs  *bytes.Buffer
	a     *Appliance
	media *mediaPart
	calls map[string]time.Time // call id -> arrival
	files map[string]time.Time // recording path -> file time
}

func newRetentionFixture(t *testing.T, clock *stepClock) *retentionFixture {
	t.Helper()
	dir := t.TempDir()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	st, err := store.Open(context.Background(), dir, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := &config.Config{StateDir: dir, Retention: config.Retention{RecordDays: 30},
		Recording: config.Recording{RetentionDays: 30}}
	media, err := newMediaPart(cfg, log, clock, func(bool) {}, func(bool) {})
	if err != nil {
		t.Fatal(err)
	}
	a := &Appliance{cfg: cfg, log: log, clock: clock, Store: st,
		recordAges: newAgeGuard("call records", cfg.Retention.RecordDays, clock, log)}
	return &retentionFixture{t: t, clock: clock, logs: logs, a: a, media: media,
		calls: map[string]time.Time{}, files: map[string]time.Time{}}
}

// add stores a finished call that arrived at, and its recording with that file time.
func (f *retentionFixture) add(at time.Time) {
	f.t.Helper()
	id := call.NewID()
	evs := []call.Event{
		{CallID: id, Seq: 1, Kind: call.KindArrived, At: at, Arrival: &call.Arrival{Line: "trunk", TrackingNumber: "+12125550101"}},
		{CallID: id, Seq: 2, Kind: call.KindRefused, At: at.Add(time.Second), Mono: time.Second, Outcome: call.Busy},
	}
	rec, err := call.Rebuild(evs)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.a.Store.Commit(context.Background(), store.Write{Record: &rec, Events: evs}); err != nil {
		f.t.Fatal(err)
	}
	f.calls[id] = at
	path, err := f.media.layout.Path(id, at)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("RIFF"), 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chtimes(path, at, at); err != nil {
		f.t.Fatal(err)
	}
	f.files[path] = at
}

// retain runs one retention pass over records and recordings.
func (f *retentionFixture) retain() {
	f.t.Helper()
	f.a.purgeRecords(context.Background())
	if _, err := f.media.keeper.Sweep(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// kept checks which calls and recordings are left: those for which keep(arrival) is true.
func (f *retentionFixture) kept(keep func(time.Time) bool) {
	f.t.Helper()
	for id, at := range f.calls {
		_, err := f.a.Store.Call(context.Background(), id)
		switch gone := errors.Is(err, store.ErrNotFound); {
		case err != nil && !gone:
			f.t.Fatal(err)
		case gone == keep(at):
			f.t.Errorf("call of %s: purged %v, want %v", at.UTC().Format(time.RFC3339), gone, !keep(at))
		}
	}
	for path, at := range f.files {
		_, err := os.Stat(path)
		if gone := errors.Is(err, os.ErrNotExist); gone == keep(at) {
			f.t.Errorf("recording of %s: removed %v, want %v", at.UTC().Format(time.RFC3339), gone, !keep(at))
		}
	}
}

var retentionNow = time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)

// TestRetentionPurgesOldRecordsAndRecordings: with a synchronised clock, records and recordings
// older than their 30 days go, the rest stay.
func TestRetentionPurgesOldRecordsAndRecordings(t *testing.T) {
	f := newRetentionFixture(t, &stepClock{wall: retentionNow, synced: true})
	for _, age := range []time.Duration{100 * 24 * time.Hour, 31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour} {
		f.add(retentionNow.Add(-age))
	}
	f.retain()
	cutoff := retentionNow.AddDate(0, 0, -30)
	f.kept(func(at time.Time) bool { return !at.Before(cutoff) })
}

// TestRetentionRefusesClockJump: the wall clock jumps a year ahead. Nothing is deleted and the
// refusal is logged; calls then stamped by the jumped clock do not make the older ones a year old
// either: the cut is reckoned from the store's newest call at start plus the time really passed.
func TestRetentionRefusesClockJump(t *testing.T) {
	clock := &stepClock{wall: retentionNow, synced: true}
	f := newRetentionFixture(t, clock)
	for _, age := range []time.Duration{20 * 24 * time.Hour, 10 * 24 * time.Hour, time.Hour} {
		f.add(retentionNow.Add(-age))
	}
	f.retain()
	all := func(time.Time) bool { return true }
	f.kept(all)

	clock.advance(6 * time.Hour)
	clock.step(clock.Now().AddDate(1, 0, 0), true)
	f.retain()
	f.kept(all)
	if !strings.Contains(f.logs.String(), "retention refused") {
		t.Errorf("no refusal logged:\n%s", f.logs)
	}

	f.add(clock.Now()) // a call stamped by the jumped clock
	f.retain()
	f.kept(all)
}

// TestRetentionSparesCallsStamped1970: a box without a real-time clock boots at 1970 and takes
// calls before time sync arrives. Nothing is deleted while the clock is not synchronised, nor
// when sync arrives and those calls look 57 years old, nor after the next call: they were stamped
// by a clock that was not set, not in 1970. The box's older history keeps its normal retention.
func TestRetentionSparesCallsStamped1970(t *testing.T) {
	clock := &stepClock{wall: time.Unix(60, 0).UTC()}
	f := newRetentionFixture(t, clock)
	for range 3 {
		clock.advance(10 * time.Minute)
		f.add(clock.Now())
	}
	f.retain()
	all := func(time.Time) bool { return true }
	f.kept(all)
	if !strings.Contains(f.logs.String(), "not synchronised") {
		t.Errorf("no refusal logged on an unsynchronised clock:\n%s", f.logs)
	}

	clock.step(retentionNow, true) // time sync arrives
	f.retain()
	f.kept(all)
	clock.advance(time.Minute)
	f.add(clock.Now())
	f.retain()
	f.kept(all)

	// History from before: a call 40 days old goes, the 1970 ones stay.
	old := clock.Now().AddDate(0, 0, -40)
	f.add(old)
	f.retain()
	f.kept(func(at time.Time) bool { return !at.Equal(old) })
}

// TestSystemClockSynced: the real clock answers from timesyncd's flag or the kernel's status
// without failing; which one depends on the machine.
func TestSystemClockSynced(t *testing.T) {
	sc, ok := SystemClock.(SyncedClock)
	if !ok {
		t.Fatal("SystemClock is not a SyncedClock")
	}
	t.Logf("system clock synchronised: %v", sc.Synced())
}

var _ recorder.Clock = (*stepClock)(nil)
