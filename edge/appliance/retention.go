package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Retention by age trusts the wall clock only as far as it can be checked. A Raspberry Pi has no
// real-time clock: until time sync arrives it may read 1970 (or the date systemd was built), and a
// bad time source can move it a year ahead. Cutting by such a clock would delete a year of records
// and recordings at once. So, for call records and recordings alike:
//
//   - nothing is deleted by age while the system clock is not synchronised (SyncedClock);
//   - nothing is deleted while the clock reads earlier than the newest item kept (less
//     clockBehindLimit), or more than clockAheadLimit later than it: the store's own newest
//     arrival is its idea of "now", and a clock far from it has jumped;
//   - the cut-off is reckoned from the newest item there was when the appliance started plus the
//     monotonic time since, whenever that is earlier than the wall clock: a jump after start, and
//     new calls stamped by a clock that jumped, cannot make anything older faster than real time
//     (a box that starts after a month switched off keeps that month longer, until it restarts);
//   - items stamped before plausibleSince are never deleted by age: no Ringside took a call before
//     then, so such a time is a clock that was not set (they still count towards the recordings'
//     quota, which evicts oldest first whatever the clock says).
//
// A refusal is logged at warn level when it starts and when it changes, and at info when the clock
// is trusted again. Keeping an item longer than its retention is always the outcome of a doubt.
const (
	// plausibleSince: Ringside's first release is from 2026; an earlier time stamp was written by
	// a clock that had not been set.
	plausibleSince = "2026-01-01T00:00:00Z"
	// clockBehindLimit: items are stamped by this same clock, so "now" before the newest item
	// means the clock went back (or the item was stamped by a clock that was ahead). An hour
	// absorbs any slew an NTP client makes.
	clockBehindLimit = time.Hour
	// clockAheadLimit: an office whose box took no call for a month is rare (holidays are
	// shorter); a clock more than that beyond the newest item is taken for a jump. The price of a
	// false alarm is only that purging waits for the next call.
	clockAheadLimit = 31 * 24 * time.Hour
)

// SyncedClock is a Clock that knows whether it has been synchronised with a time source.
// Retention asks it before deleting anything by age; a Clock without Synced is taken as
// synchronised (a test's clock is what it says). SystemClock is a SyncedClock.
type SyncedClock interface {
	Clock
	Synced() bool
}

// monotonicClock is a Clock with a monotonic reading of its own, which a test steps apart from its
// wall clock; the real clock's readings carry their monotonic part, and Sub uses it.
type monotonicClock interface{ Monotonic() time.Duration }

// timesyncFlag is the file systemd-timesyncd creates once it has synchronised the clock
// (systemd-time-wait-sync.service(8), systemd 239 and later).
const timesyncFlag = "/run/systemd/timesync/synchronized"

// Synced reports whether the system clock has been set from a time source: timesyncd's flag file
// exists (the default time client on Debian and Raspberry Pi OS), or the kernel's clock status
// lacks STA_UNSYNC (adjtimex(2); chronyd and ntpd clear it once synchronised, and timedatectl
// shows it as "System clock synchronized"). Either source saying so is enough.
func (systemClock) Synced() bool {
	if _, err := os.Stat(timesyncFlag); err == nil {
		return true
	}
	var tx unix.Timex
	if _, err := unix.Adjtimex(&tx); err != nil {
		return false
	}
	return tx.Status&unix.STA_UNSYNC == 0
}

// errClockUntrusted: retention refused to cut by a clock it could not check.
var errClockUntrusted = errors.New("the wall clock cannot be trusted for retention")

// ageGuard decides which items retention may delete by age, for one kind of item (call records or
// recordings) kept for days.
type ageGuard struct {
	what  string
	days  int
	clock Clock
	log   *slog.Logger

	mu      sync.Mutex
	started bool
	newest0 time.Time     // the newest item when the guard was first asked (zero: there was none)
	at0     time.Time     // the clock then, with its monotonic reading
	mono0   time.Duration // and its own monotonic reading, for a clock that has one (monotonicClock)
	refusal string        // the kind of the refusal last logged ("" when trusted)
	ahead   bool          // the wall clock is ahead of the store's time (logged once)
}

func newAgeGuard(what string, days int, clock Clock, log *slog.Logger) *ageGuard {
	return &ageGuard{what: what, days: days, clock: clock, log: log}
}

// window returns the item times to delete, [from, before), given the newest item kept now (zero
// when there is none), or an error when the clock cannot be trusted; the refusal is logged here.
func (g *ageGuard) window(newest time.Time) (from, before time.Time, err error) {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.started {
		g.started, g.newest0, g.at0 = true, newest, now
		if m, ok := g.clock.(monotonicClock); ok {
			g.mono0 = m.Monotonic()
		}
	}
	kind, err := g.check(now, newest)
	if err != nil {
		if kind != g.refusal {
			g.log.Warn("retention refused: nothing is deleted by age", "items", g.what, "err", err)
		}
		g.refusal = kind
		return time.Time{}, time.Time{}, err
	}
	if g.refusal != "" {
		g.log.Info("retention resumes: the clock can be trusted", "items", g.what)
		g.refusal = ""
	}
	floor, _ := time.Parse(time.RFC3339, plausibleSince)
	ref := now
	if !g.newest0.Before(floor) { // an item stamped before the floor says nothing of the time
		// The store's time: the newest item at start plus the monotonic time since.
		elapsed := now.Sub(g.at0)
		if m, ok := g.clock.(monotonicClock); ok {
			elapsed = m.Monotonic() - g.mono0
		}
		if storeNow := g.newest0.Add(elapsed); storeNow.Before(now) {
			ref = storeNow
			if now.Sub(storeNow) > clockAheadLimit && !g.ahead {
				g.ahead = true
				g.log.Warn("the wall clock is far ahead of the store's time; retention cuts by the store's time",
					"items", g.what, "clock", now.UTC().Format(time.RFC3339), "store", storeNow.UTC().Format(time.RFC3339))
			}
		}
	}
	return floor, ref.AddDate(0, 0, -g.days), nil
}

// check says why the clock cannot be trusted at now, with newest the newest item kept.
func (g *ageGuard) check(now, newest time.Time) (kind string, err error) {
	if sc, ok := g.clock.(SyncedClock); ok && !sc.Synced() {
		return "unsynced", fmt.Errorf("%w: the system clock is not synchronised", errClockUntrusted)
	}
	if newest.IsZero() {
		return "", nil
	}
	if now.Before(newest.Add(-clockBehindLimit)) {
		return "behind", fmt.Errorf("%w: the clock reads %s, before the newest item (%s)", errClockUntrusted,
			now.UTC().Format(time.RFC3339), newest.UTC().Format(time.RFC3339))
	}
	if now.After(newest.Add(clockAheadLimit)) {
		return "ahead", fmt.Errorf("%w: the clock reads %s, more than %d days after the newest item (%s)", errClockUntrusted,
			now.UTC().Format(time.RFC3339), int(clockAheadLimit.Hours()/24), newest.UTC().Format(time.RFC3339))
	}
	return "", nil
}

// purgeRecords runs one retention pass over the call records.
func (a *Appliance) purgeRecords(ctx context.Context) {
	newest, err := a.Store.NewestArrival(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Error("retention: reading the newest call failed", "err", err)
		}
		return
	}
	from, before, err := a.recordAges.window(newest)
	if err != nil {
		return // logged by the guard
	}
	n, err := a.Store.PurgeArrived(ctx, from, before)
	switch {
	case err != nil && ctx.Err() == nil:
		a.log.Error("retention purge failed", "err", err)
	case n > 0:
		a.log.Info("purged old call records", "calls", n, "before", before.Format(time.DateOnly))
	}
}

func (a *Appliance) retention(ctx context.Context) {
	t := time.NewTicker(retentionEvery)
	defer t.Stop()
	for {
		a.purgeRecords(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
