// Package appliance wires Ringside's parts together and runs them: the store and the call tracker,
// telephony (SIP lines and agents, analog lines), the recorder, the web page, the MQTT uplink and
// the LEDs. It is the one place that knows all of them; each part knows only the small interfaces
// it consumes.
//
// Lifecycle: New first takes an exclusive flock(2) on state_dir/ringside.lock (a second instance
// on the same folder fails at once, naming the lock and the holder's pid, before it opens the store
// or repairs anything; the kernel drops the lock when the holder dies), then opens the store. Run
// closes calls a crash left open, starts every part, tells systemd it is ready (sd_notify READY=1)
// and pings systemd's watchdog from the tracker's loop; it releases the lock when it returns. Shutdown has
// two speeds: Stopping (SIGTERM) drains live calls up to drain_timeout, then flushes and returns nil;
// cancelling the context (SIGINT) releases calls at once. Teardown that must finish (saving
// records) runs on a context without cancel but with a deadline.
//
// Retention (retention.go) deletes call records and recordings by age only on a wall clock it can
// check: synchronised (SyncedClock), not before the newest item kept nor far after it, and never
// faster than the monotonic clock since start; items stamped before 2026 are never deleted by age.
package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/tracker"
	"github.com/ringside/ringside/edge/web"
	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/telephony/pbx"
)

// retentionEvery is how often old records are purged; records age by days, so a few times a day
// is plenty.
const retentionEvery = 6 * time.Hour

// flushTimeout bounds the final writes after the parts have stopped.
const flushTimeout = 10 * time.Second

// Clock is the wall clock with its monotonic reading (time.Now); tests inject their own.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SystemClock is the real clock; it is a SyncedClock.
var SystemClock Clock = systemClock{}

// Appliance is one running Ringside.
type Appliance struct {
	cfg   *config.Config
	log   *slog.Logger
	clock Clock

	Store   *store.Store
	Tracker *tracker.Tracker
	Bus     *live.Bus
	PBX     *pbx.Server
	Metrics *metrics.Engine
	Panel   *hw.Panel
	Board   hw.Board   // the GPIO lines, or a simulated board
	Button  *hw.Button // nil when no button is wired
	Web     *web.Server

	status  *statusKeeper
	webAddr atomic.Value  // string: where the web page listens, once it does
	ready   chan struct{} // closed once every part is up (READY=1)
	lock    *os.File      // the state directory's flock, held from New until Run returns
	uplink  *uplinkPart   // nil when the uplink is off
	media   *mediaPart    // quality figures and recordings
	fxo     *fxoPart      // analog lines

	recordAges *ageGuard // how far retention may purge call records (retention.go)
}

// New checks cfg (Check), opens the store and builds the parts; Run starts them. version is the
// software's version as the binary reports it (cmd/ringside), shown in Home Assistant.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, clock Clock, version string) (*Appliance, error) {
	if err := Check(cfg); err != nil {
		return nil, err
	}
	// The state directory is locked before anything in it is opened: a second instance must fail
	// here, not after closing the first one's live calls as "interrupted".
	lock, err := lockStateDir(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.StateDir, log.With("part", "store"))
	if err != nil {
		lock.Close()
		return nil, err
	}
	bus := live.NewBus()
	a := &Appliance{cfg: cfg, log: log, clock: clock, Store: st, Bus: bus, ready: make(chan struct{}), lock: lock,
		recordAges: newAgeGuard("call records", cfg.Retention.RecordDays, clock, log.With("part", "retention"))}
	var up tracker.Uplink
	if cfg.Uplink.Enabled {
		part, err := newUplinkPart(cfg, outboxAdapter{st}, log.With("part", "uplink"), version)
		if err != nil {
			a.closeState()
			return nil, err
		}
		a.uplink, up = part, part
	}
	a.Tracker = tracker.New(st, cfg, bus, clock, log.With("part", "tracker"), up)
	a.fxo, err = newFXOPart(cfg, log.With("part", "fxo"))
	if err != nil {
		a.closeState()
		return nil, err
	}
	a.fxo.tracker = a.Tracker
	pc, err := pbxConfig(cfg, a.fxo.accounts)
	if err != nil {
		a.closeState()
		return nil, err
	}
	// A call answered now might never have a durable record: refuse it (503, the trunk fails
	// over) while the tracker cannot save records; calls are taken again once it can.
	pc.Admit = func() error {
		if a.Tracker.Saving() != nil {
			return tracker.ErrUnsaved
		}
		return nil
	}
	pc.Saved = a.Tracker.Saved // a call is answered once its arrival is on disk
	pc.Registrations = registrations{st}
	a.media, err = newMediaPart(cfg, log.With("part", "recorder"), clock,
		func(low bool) { a.status.SetDiskLow(low) }, func(on bool) { a.status.SetRecordingFailing(on) })
	if err != nil {
		a.closeState()
		return nil, err
	}
	sink := &callSink{tracker: a.Tracker, bus: bus, media: a.media, fxo: a.fxo, region: cfg.Site.Region, log: log.With("part", "sip")}
	a.PBX, err = pbx.New(pc, newRouter(cfg), sink, log.With("part", "sip"), clock)
	if err != nil {
		a.closeState()
		return nil, fmt.Errorf("SIP: %w", err)
	}
	a.PBX.SetTap(a.media.Tap)
	a.Metrics = metrics.New(st, cfg, clock.Now, log.With("part", "metrics"))
	if err := a.frontPanel(); err != nil {
		a.closeState()
		return nil, err
	}
	a.Web, err = web.New(web.Deps{Config: cfg, Calls: st, Tracker: a.Tracker, Metrics: a.Metrics, Bus: bus,
		Recordings: web.RecorderFiles(a.media.root), LEDs: a.ledPatterns, Problems: a.problems, Clock: clock, Log: log.With("part", "web")})
	if err != nil {
		a.closeState()
		return nil, fmt.Errorf("web: %w", err)
	}
	return a, nil
}

// Run runs the appliance until ctx is cancelled (stop now) or stopping is closed (drain, then stop).
func (a *Appliance) Run(ctx context.Context, stopping <-chan struct{}) error {
	defer a.closeState()
	n, err := a.Tracker.Recover(ctx)
	if err != nil {
		return fmt.Errorf("close interrupted calls: %w", err)
	}
	if n > 0 {
		a.log.Warn("closed calls interrupted by the last stop", "calls", n)
	}

	// The tracker outlives every part that posts to it: it stops only after they have.
	trackCtx, stopTracker := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var trackErr error
	wg.Go(func() { trackErr = a.Tracker.Run(trackCtx) })

	partsCtx, stopParts := context.WithCancel(ctx)
	defer stopParts()
	// Recordings a crash left open: repaired, and their calls (closed by Recover) marked; then the
	// calls whose slow close was still going on at the last stop get their file's real state.
	repaired := a.media.repair()
	marked := map[string]bool{}
	for _, ev := range repaired {
		marked[ev.CallID] = true
	}
	closing, err := a.Store.RecordingsClosing(ctx)
	if err != nil {
		a.log.Warn("could not list the recordings still closing at the last stop", "err", err)
	}
	for _, ev := range append(repaired, a.media.settleClosing(closing, marked)...) {
		if err := a.Tracker.Amend(ctx, ev); err != nil {
			a.log.Warn("could not mark a recording's final state", "call", ev.CallID, "err", err)
		}
	}
	wg.Go(func() {
		if err := a.media.keeper.Run(partsCtx); err != nil && partsCtx.Err() == nil {
			a.log.Error("recordings keeper stopped", "err", err)
		}
	})
	wg.Go(func() { a.retention(partsCtx) })
	wg.Go(func() { a.watchdog(partsCtx) })
	wg.Go(func() { a.Panel.Run(partsCtx) })
	if a.uplink != nil {
		wg.Go(func() {
			if err := a.uplink.pub.Run(partsCtx); err != nil {
				a.log.Error("uplink stopped", "err", err)
			}
		})
	}
	if a.Button != nil {
		wg.Go(func() {
			if err := a.Button.Run(partsCtx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("button stopped", "err", err)
			}
		})
	}
	// The web page's port is taken before READY=1, so a port in use is a start-up failure.
	ln, err := net.Listen("tcp", a.cfg.Web.Listen)
	if err != nil {
		stopParts()
		stopTracker()
		wg.Wait()
		return fmt.Errorf("web: %w", err)
	}
	a.webAddr.Store(ln.Addr().String())
	wg.Go(func() {
		if err := a.Web.Serve(partsCtx, ln); err != nil {
			a.log.Error("web server stopped", "err", err)
		}
	})
	// The first report over a year reads every call from SQLite; do it now, not on a person's click.
	wg.Go(func() {
		now := a.clock.Now()
		if err := a.Metrics.Warm(partsCtx, metrics.Period{From: now.AddDate(-1, -1, 0), To: now.Add(time.Hour)}); err != nil {
			if partsCtx.Err() == nil {
				a.log.Warn("warming the metrics cache failed", "err", err)
			}
			return
		}
		days, bytes := a.Metrics.CacheSize()
		a.log.Info("metrics cache warmed", "days", days, "kib", bytes>>10, "took", a.clock.Now().Sub(now))
		// Start-up is over: hand the garbage of its bursts (the phone-number metadata parsed at
		// init, the store's reads for the warm-up) back to the OS now rather than when the
		// runtime's background scavenger gets to it. Once, so no call ever pays for it.
		debug.FreeOSMemory()
	})
	sipErr := make(chan error, 1)
	var sipWG sync.WaitGroup
	sipWG.Go(func() { sipErr <- a.PBX.Run(partsCtx) })

	select {
	case <-a.PBX.Ready():
	case err := <-sipErr:
		stopParts()
		stopTracker()
		wg.Wait()
		return fmt.Errorf("SIP: %w", err)
	case <-ctx.Done():
	}
	wg.Go(func() { a.status.run(partsCtx) })
	wg.Go(func() { a.fxo.run(partsCtx) })
	a.notify(daemon.SdNotifyReady)
	close(a.ready)
	a.log.Info("ringside is ready", "site", a.cfg.Site.Name, "state_dir", a.cfg.StateDir)

	select {
	case <-ctx.Done():
		a.log.Info("stopping now")
	case err := <-sipErr:
		a.log.Error("SIP stopped", "err", err)
		sipErr <- err
	case <-stopping:
		a.notify(daemon.SdNotifyStopping)
		a.log.Info("draining live calls", "limit", a.cfg.DrainTimeout.D())
		dctx, cancel := context.WithTimeout(ctx, a.cfg.DrainTimeout.D())
		if err := a.PBX.Drain(dctx); err != nil {
			a.log.Warn("drain limit reached; releasing live calls", "err", err)
		}
		cancel()
	}
	a.notify(daemon.SdNotifyStopping)
	stopParts()
	sipWG.Wait()             // every call has ended
	close(a.media.quit)      // slow recording closes get one last bound
	a.media.finishing.Wait() // and posted its last events
	var runErr error
	select {
	case runErr = <-sipErr:
	default:
	}

	// Teardown owned here: the parts have posted their last events; the tracker writes what is
	// queued and returns, within flushTimeout.
	stopTracker()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(flushTimeout):
		return errors.New("parts did not stop within the flush timeout")
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return errors.Join(fmt.Errorf("SIP: %w", runErr), trackErr)
	}
	return trackErr
}

// closeState closes the store, then releases the state directory's lock.
func (a *Appliance) closeState() {
	if err := a.Store.Close(); err != nil {
		a.log.Warn("closing the store", "err", err)
	}
	a.lock.Close()
}

// watchdog pings systemd while the tracker's loop (the core of the appliance) answers; if it
// sticks, the pings stop and systemd restarts the service.
func (a *Appliance) watchdog(ctx context.Context) {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil || every == 0 {
		return
	}
	t := time.NewTicker(every / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, every/3)
		err := a.Tracker.Ping(pctx)
		cancel()
		if err != nil {
			a.log.Error("core loop did not answer; withholding the watchdog ping", "err", err)
			continue
		}
		a.notify(daemon.SdNotifyWatchdog)
	}
}

// frontPanel opens the LEDs and the button on GPIO, or on a simulated board where there is none
// (or the config asks for one), and the status keeper that drives them.
func (a *Appliance) frontPanel() error {
	l := a.cfg.LEDs
	hc := hw.Config{
		Ready:  hw.PinConfig{Name: l.Ready.Pin, ActiveLow: l.Ready.ActiveLow},
		Calls:  hw.PinConfig{Name: l.Calls.Pin, ActiveLow: l.Calls.ActiveLow},
		Alarm:  hw.PinConfig{Name: l.Alarm.Pin, ActiveLow: l.Alarm.ActiveLow},
		Uplink: hw.PinConfig{Name: l.Uplink.Pin, ActiveLow: l.Uplink.ActiveLow},
		Button: hw.PinConfig{Name: a.cfg.Button.Pin, ActiveLow: a.cfg.Button.ActiveLow},
	}
	log := a.log.With("part", "panel")
	board := hw.SimulatedBoard(hc, log)
	if !l.Simulated {
		b, err := hw.OpenGPIO(hc)
		switch {
		case errors.Is(err, hw.ErrNoGPIO):
			log.Warn("no GPIO here; LED states go to the log and the web page", "err", err)
		case err != nil:
			return fmt.Errorf("LEDs: %w", err)
		default:
			board = b
		}
	}
	a.Board = board
	a.Panel = hw.NewPanel(board.LEDs, hw.SystemClock(), log)
	src := statusSources{cfg: a.cfg, tracker: a.Tracker, metrics: a.Metrics, bus: a.Bus,
		panel: a.Panel, night: a.PBX.SetNightMode, clock: a.clock, log: log,
		lost: a.PBX.LostLines}
	if a.uplink != nil {
		src.uplink = a.uplink
	}
	a.status = newStatusKeeper(src)
	if board.Button != nil {
		btn, err := hw.NewButton(board.Button, hw.ButtonConfig{ActiveLow: a.cfg.Button.ActiveLow, LongPress: a.cfg.Button.LongPress.D()},
			hw.SystemClock(), log, a.status.Press)
		if err != nil {
			return fmt.Errorf("button: %w", err)
		}
		a.Button = btn
	}
	return nil
}

// Ready is closed once the appliance is up: SIP listening, store open, web page serving.
func (a *Appliance) Ready() <-chan struct{} { return a.ready }

// WebAddr is the web page's listening address ("" until Run has opened it).
func (a *Appliance) WebAddr() string {
	s, _ := a.webAddr.Load().(string)
	return s
}

// ledPatterns is each LED's pattern by name, for the web page.
func (a *Appliance) ledPatterns() map[string]string {
	m := map[string]string{}
	for _, l := range a.Panel.Snapshot() {
		m[l.LED] = l.Pattern
	}
	return m
}

// problems are the conditions the web page shows; records that cannot be saved also fail /healthz.
func (a *Appliance) problems() []web.Problem {
	var ps []web.Problem
	if err := a.Tracker.Saving(); err != nil {
		ps = append(ps, web.Problem{Failing: true,
			Text: "Call records cannot be saved (is the disk full?); new calls are refused until they can: " + err.Error()})
	}
	if n := a.Tracker.SetAside(); n > 0 {
		ps = append(ps, web.Problem{Text: fmt.Sprintf("%d call record writes could never be saved and were set aside "+
			"in the database's dead_letter table; see README \"Nothing lost\".", n)})
	}
	return ps
}

// Status returns the appliance's state at a glance.
func (a *Appliance) Status() Status { return a.status.Snapshot() }

func (a *Appliance) notify(state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		a.log.Warn("sd_notify failed", "state", state, "err", err)
	}
}
