package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/recorder"
	"github.com/ringside/ringside/telephony/media"
	"github.com/ringside/ringside/telephony/rtpstats"
)

// closeRecordingTimeout bounds the final flush and fsync of one recording at the end of its call.
const closeRecordingTimeout = 10 * time.Second

// Recording status values on the call record.
const (
	RecordingComplete    = "complete"
	RecordingCut         = "cut"
	RecordingInterrupted = "interrupted"
)

// mediaPart taps every call's RTP: per-leg quality figures for every call, and a recording for the
// calls whose tracking number or queue (or the site) records. It is the recorder's and rtpstats'
// only user; telephony hands it packets through pbx.SetTap and never learns about files.
type mediaPart struct {
	cfg    *config.Config
	root   string
	layout recorder.Layout
	keeper *recorder.Keeper
	log    *slog.Logger
	clock  Clock
	failed func(bool) // raises or clears the recording-failing alarm

	mu    sync.Mutex
	calls map[string]*callMedia

	finishing sync.WaitGroup // recordings being closed at the end of their calls
	totals    recordingTotals
}

// recordingTotals adds up the recorder's counters over every recording closed since start.
type recordingTotals struct {
	mu                                          sync.Mutex
	recordings, packets, late, dropped, resyncs uint64
}

func (t *recordingTotals) add(r recorder.Result) {
	t.mu.Lock()
	t.recordings++
	t.packets += r.Packets
	t.late += r.Late
	t.dropped += r.Dropped
	t.resyncs += r.Resyncs
	t.mu.Unlock()
}

func (t *recordingTotals) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("recordings %d packets %d late %d dropped %d resyncs %d", t.recordings, t.packets, t.late, t.dropped, t.resyncs)
}

func newMediaPart(cfg *config.Config, log *slog.Logger, clock Clock, onDisk func(bool), failed func(bool)) (*mediaPart, error) {
	root := filepath.Join(cfg.StateDir, "recordings")
	if err := os.MkdirAll(root, recorder.FolderMode); err != nil {
		return nil, fmt.Errorf("recordings folder: %w", err)
	}
	k, err := recorder.NewKeeper(recorder.KeeperConfig{Root: root, RetentionDays: cfg.Recording.RetentionDays,
		QuotaBytes: int64(cfg.Recording.QuotaMB) << 20, LowDiskBytes: uint64(cfg.Recording.LowDiskMB) << 20,
		Expiry: newAgeGuard("recordings", cfg.Recording.RetentionDays, clock, log).window},
		log, clock, func(d recorder.DiskState) { onDisk(d.Low) })
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	return &mediaPart{cfg: cfg, root: root, layout: recorder.Layout{Root: root}, keeper: k, log: log, clock: clock,
		failed: failed, calls: map[string]*callMedia{}}, nil
}

// records decides whether a call is recorded: the tracking number's choice if it made one, else the
// queue's, else the site's (recording.enabled).
func (m *mediaPart) records(trackingNumber, queue string) bool {
	for _, n := range m.cfg.TrackingNumbers {
		if n.Number == trackingNumber && n.Record != nil {
			return *n.Record
		}
	}
	for _, q := range m.cfg.Queues {
		if q.Name == queue && q.Record != nil {
			return *q.Record
		}
	}
	return m.cfg.Recording.Enabled
}

// begin notes a call as it arrives, with its recording decision.
func (m *mediaPart) begin(id, trackingNumber, queue string, arrived time.Time) {
	cm := &callMedia{part: m, id: id, started: arrived, record: m.records(trackingNumber, queue)}
	for i := range cm.legs {
		cm.legs[i].stats = rtpstats.New(rtpstats.Config{})
	}
	m.mu.Lock()
	m.calls[id] = cm
	m.mu.Unlock()
}

// Tap is the per-call media tap the SIP side asks for when it bridges a call.
func (m *mediaPart) Tap(id string) media.Tap {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cm := m.calls[id]; cm != nil {
		return cm
	}
	return nil
}

// finish closes a call's recording and reads its quality figures, and returns the journal events
// that record them; post must be given them before the call's terminal event. It runs off the
// call path; Wait waits for every finish in flight.
func (m *mediaPart) finish(id string, end time.Time) []call.Event {
	m.mu.Lock()
	cm := m.calls[id]
	delete(m.calls, id)
	m.mu.Unlock()
	if cm == nil {
		return nil
	}
	q := call.Quality{Caller: cm.legs[media.LegCaller].snapshot(), Agent: cm.legs[media.LegAgent].snapshot()}
	evs := []call.Event{{CallID: id, Kind: call.KindQuality, At: end, Quality: &q}}
	w := cm.writer()
	if w == nil {
		return evs
	}
	// Teardown owned here: the file must be finished even when the appliance is stopping.
	ctx, cancel := context.WithTimeout(context.Background(), closeRecordingTimeout)
	defer cancel()
	res, err := w.Close(ctx, end)
	m.keeper.Notify()
	m.totals.add(res)
	ref := &call.RecordingRef{Status: RecordingComplete}
	if rel, rerr := filepath.Rel(m.root, res.Path); rerr == nil {
		ref.Path = rel
	}
	if err != nil || res.Status != recorder.StatusComplete {
		ref.Status = RecordingCut
		reason := err
		if reason == nil {
			reason = res.Reason
		}
		ref.Reason = recordingReason(reason)
		m.log.Warn("recording cut", "call", id, "reason", ref.Reason)
		m.failed(true)
	} else {
		m.failed(false)
	}
	return append(evs, call.Event{CallID: id, Kind: call.KindRecording, At: end, Recording: ref})
}

func recordingReason(err error) string {
	switch {
	case err == nil:
		return "unknown"
	case errors.Is(err, recorder.ErrDiskFull):
		return "disk full"
	case errors.Is(err, recorder.ErrBufferFull):
		return "disk too slow"
	default:
		return err.Error()
	}
}

// callMedia is one call's tap. Packet runs on the poller that relays the call (telephony/media), both
// legs on the same one; snapshot and finish read it from other goroutines, hence the locks.
type callMedia struct {
	part    *mediaPart
	id      string
	started time.Time
	record  bool
	legs    [2]legMedia

	once sync.Once
	w    atomic.Pointer[recorder.Writer] // set once the first audio packet started the recording
}

type legMedia struct {
	mu    sync.Mutex
	stats *rtpstats.Leg
}

func (l *legMedia) snapshot() call.LegQuality {
	l.mu.Lock()
	s := l.stats.Snapshot()
	l.mu.Unlock()
	return call.LegQuality{Packets: int64(s.Packets), Lost: int64(s.Lost), LossPct: s.LossPercent,
		JitterMs: float64(s.Jitter) / float64(time.Millisecond), MOS: s.MOS,
		Duplicates: int64(s.Duplicates), Reordered: int64(s.Reordered)}
}

func (c *callMedia) writer() *recorder.Writer { return c.w.Load() }

// Packet counts every packet for the leg's quality, and records the G.711 audio.
func (c *callMedia) Packet(leg int, h *rtp.Header, arrival time.Time, payload []byte) {
	if leg != media.LegCaller && leg != media.LegAgent {
		return
	}
	codec, audio := recorder.CodecForPayloadType(h.PayloadType)
	l := &c.legs[leg]
	l.mu.Lock()
	if audio {
		l.stats.Observe(h.SSRC, h.SequenceNumber, h.Timestamp, arrival)
	} else {
		l.stats.ObserveUntimed(h.SSRC, h.SequenceNumber) // telephone-event, comfort noise
	}
	l.mu.Unlock()
	if !c.record || !audio {
		return
	}
	c.once.Do(func() { c.start(codec) })
	if w := c.writer(); w != nil {
		w.Write(recorder.Leg(leg), h.Timestamp, h.SequenceNumber, arrival, payload)
	}
}

// start opens the recording on the first audio packet, whose payload type names the law.
func (c *callMedia) start(codec recorder.Codec) {
	p := c.part
	w, err := recorder.Start(p.layout, c.id, c.started.In(p.cfg.Site.Location), recorder.WriterConfig{Codec: codec}, p.log, p.clock)
	if err != nil {
		p.log.Error("recording could not start; the call goes on unrecorded", "call", c.id, "err", err)
		p.failed(true)
		return
	}
	c.w.Store(w)
}

// repair fixes the recordings a crash left open and returns the amendments that mark their calls.
func (m *mediaPart) repair() []call.Event {
	found, err := recorder.Repair(m.root, m.log)
	if err != nil {
		m.log.Error("repairing recordings failed", "err", err)
	}
	var evs []call.Event
	for _, r := range found {
		ref := &call.RecordingRef{Status: RecordingInterrupted}
		if r.Path != "" {
			if rel, err := filepath.Rel(m.root, r.Path); err == nil {
				ref.Path = rel
			}
		}
		if r.Err != nil {
			ref.Reason = r.Err.Error()
		}
		evs = append(evs, call.Event{CallID: r.CallID, Kind: call.KindRecording, At: m.clock.Now(), Recording: ref})
	}
	return evs
}
