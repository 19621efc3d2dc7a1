package appliance

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/edge/tracker"
	"github.com/ringside/ringside/hw"
)

// statusEvery paces the status loop when nothing happens; today's figures (for the blocked-%
// alarm and the uplink's gauges) are recomputed at most this often.
const (
	statusEvery  = time.Second
	figuresEvery = 30 * time.Second
)

// Status is the appliance's state at a glance: what the LEDs show, the wallboard's header and the
// uplink's live gauges. One goroutine (runStatus) owns it; readers take copies.
type Status struct {
	Ready           bool
	Night           bool
	Waiting         int
	InProgress      int
	LongestWait     time.Duration
	AgentsAvailable int
	Alarms          hw.Alarm
	Acknowledged    hw.Alarm
	Uplink          hw.UplinkState
	CallsToday      int
	BlockedToday    float64 // percent; 0 when no calls
	AvgWaitToday    time.Duration
}

// statusSources are the parts the status is read from; nil ones are absent.
type statusSources struct {
	cfg     *config.Config
	tracker *tracker.Tracker
	metrics *metrics.Engine
	bus     *live.Bus
	panel   *hw.Panel
	uplink  uplinkView
	night   func(bool)
	lost    func() []string // line accounts whose registration was lost
	clock   Clock
	log     *slog.Logger
}

// uplinkView is what the status needs from the uplink.
type uplinkView interface {
	Condition() hw.UplinkState
	SetGauges(s Status)
	Refresh(ctx context.Context, m *metrics.Engine, now time.Time) error
}

type statusKeeper struct {
	src statusSources

	mu      sync.Mutex
	cur     Status
	agents  map[string]string // agent -> state
	disk    bool              // low disk reported by the recorder's keeper
	recErr  bool              // a recording failed recently
	presses chan hw.Press
}

func newStatusKeeper(src statusSources) *statusKeeper {
	return &statusKeeper{src: src, agents: map[string]string{}, presses: make(chan hw.Press, 8)}
}

// Snapshot returns the current status.
func (k *statusKeeper) Snapshot() Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur
}

// Press is the button's callback; it never blocks.
func (k *statusKeeper) Press(p hw.Press) {
	select {
	case k.presses <- p:
	default:
	}
}

// SetDiskLow and SetRecordingFailing raise or clear those alarms.
func (k *statusKeeper) SetDiskLow(low bool) {
	k.mu.Lock()
	k.disk = low
	k.mu.Unlock()
}

func (k *statusKeeper) SetRecordingFailing(on bool) {
	k.mu.Lock()
	k.recErr = on
	k.mu.Unlock()
}

// run keeps the status until ctx ends: on every live event, every second, and on button presses.
func (k *statusKeeper) run(ctx context.Context) {
	events, unsubscribe := k.src.bus.Subscribe(256)
	defer unsubscribe()
	tick := time.NewTicker(statusEvery)
	defer tick.Stop()
	var lastFigures time.Time
	k.mu.Lock()
	k.cur.Ready = true
	k.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			// A burst (a thousand calls ending together) makes one update, not one per event:
			// take what is already queued, at most a channel's worth, then update once.
			own := k.note(ev)
		burst:
			for range cap(events) {
				select {
				case ev, ok := <-events:
					if !ok {
						return
					}
					own = k.note(ev) && own
				default:
					break burst
				}
			}
			if own {
				continue // only our own status events
			}
		case p := <-k.presses:
			k.press(p)
		case <-tick.C:
		}
		now := k.src.clock.Now()
		if now.Sub(lastFigures) >= figuresEvery || now.Before(lastFigures) {
			k.figures(ctx)
			lastFigures = now
		}
		k.update(now)
	}
}

// note takes an agent's new state from a live event; it reports whether the event was the
// keeper's own status event, which needs no update.
func (k *statusKeeper) note(ev live.Event) (own bool) {
	if ev.Type == live.TypeAgent && ev.Agent != nil {
		k.mu.Lock()
		k.agents[ev.Agent.Agent] = ev.Agent.State
		k.mu.Unlock()
	}
	return ev.Type == live.TypeStatus
}

func (k *statusKeeper) press(p hw.Press) {
	k.mu.Lock()
	switch p {
	case hw.ShortPress:
		k.cur.Night = !k.cur.Night
		k.src.log.Info("night mode", "on", k.cur.Night)
		if k.src.night != nil {
			k.src.night(k.cur.Night)
		}
	case hw.LongPress:
		k.cur.Acknowledged = k.cur.Alarms
		k.src.log.Info("alarms acknowledged", "alarms", k.cur.Alarms.String())
	}
	k.mu.Unlock()
}

// figures recomputes today's volume, blocked % and average wait from the records.
func (k *statusKeeper) figures(ctx context.Context) {
	if k.src.metrics == nil {
		return
	}
	rep, err := k.src.metrics.Report(ctx, k.src.metrics.Today(), metrics.Filter{})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			k.src.log.Warn("today's figures failed", "err", err)
		}
		return
	}
	if k.src.uplink != nil {
		if err := k.src.uplink.Refresh(ctx, k.src.metrics, k.src.clock.Now()); err != nil {
			k.src.log.Warn("uplink rollups failed", "err", err)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cur.CallsToday = rep.Volume
	k.cur.BlockedToday, _ = rep.Blocked.Percent()
	k.cur.AvgWaitToday = rep.Wait.Mean
}

func (k *statusKeeper) update(now time.Time) {
	var waiting, inProgress int
	var longest time.Duration
	k.src.tracker.EachLive(func(r *call.Record) {
		if r.Connected.IsZero() {
			waiting++
			longest = max(longest, now.Sub(r.Arrived))
		} else {
			inProgress++
		}
	})
	k.mu.Lock()
	prev := k.cur
	s := &k.cur
	s.Waiting, s.InProgress, s.LongestWait = waiting, inProgress, longest
	s.AgentsAvailable = 0
	for _, st := range k.agents {
		if st == "idle" {
			s.AgentsAvailable++
		}
	}
	var alarms hw.Alarm
	if s.CallsToday > 0 && s.BlockedToday > k.src.cfg.Metrics.BlockedTarget {
		alarms |= hw.AlarmBlocked
	}
	if k.disk {
		alarms |= hw.AlarmDiskLow
	}
	if k.recErr {
		alarms |= hw.AlarmRecordingFailing
	}
	if k.src.tracker.Saving() != nil {
		alarms |= hw.AlarmRecordsUnsaved
	}
	if k.src.tracker.SetAside() > 0 {
		alarms |= hw.AlarmRecordsSetAside
	}
	if k.src.lost != nil && len(k.src.lost()) > 0 {
		alarms |= hw.AlarmRegistrationLost
	}
	s.Alarms = alarms
	s.Acknowledged &= alarms // an alarm that clears and comes back must be acknowledged again
	if k.src.uplink != nil {
		s.Uplink = k.src.uplink.Condition()
	}
	cur := *s
	k.mu.Unlock()

	if k.src.panel != nil {
		k.src.panel.Set(hw.State{Ready: cur.Ready, Night: cur.Night, Waiting: cur.Waiting, InProgress: cur.InProgress,
			Alarms: cur.Alarms, Acknowledged: cur.Acknowledged, Uplink: cur.Uplink})
	}
	if k.src.uplink != nil {
		k.src.uplink.SetGauges(cur)
	}
	if cur != prev {
		k.src.bus.Publish(live.Event{At: now, Type: live.TypeStatus, Status: k.liveStatus(cur)})
	}
}

func (k *statusKeeper) liveStatus(s Status) *live.Status {
	ls := &live.Status{NightMode: s.Night}
	if s.Alarms != 0 {
		ls.Alarms = []string{s.Alarms.String()}
	}
	switch s.Uplink {
	case hw.UplinkOnline:
		ls.Uplink = "online"
	case hw.UplinkBacklogged:
		ls.Uplink = "backlogged"
	case hw.UplinkOffline:
		ls.Uplink = "offline"
	default:
		ls.Uplink = "disabled"
	}
	if k.src.panel != nil {
		ls.LEDs = map[string]string{}
		for _, l := range k.src.panel.Snapshot() {
			ls.LEDs[l.LED] = l.Pattern
		}
	}
	return ls
}
