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
	"syscall"
	"time"

	"github.com/pion/rtp"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/recorder"
	"github.com/ringside/ringside/telephony/media"
	"github.com/ringside/ringside/telephony/rtpstats"
)

// closeRecordingTimeout bounds how long the end of a call waits for its recording's final flush and
// fsync. A slower close goes on in the background (the record says closing until it is done); when
// the appliance stops, such a close gets this long once more, then its file is left to Repair.
const closeRecordingTimeout = 10 * time.Second

// Recording status values on the call record.
const (
	RecordingComplete    = "complete"
	RecordingCut         = "cut"
	RecordingInterrupted = "interrupted"
	// RecordingClosing: the call ended but its file is still being finished (a slow disk); an
	// amendment with the file's final state follows.
	RecordingClosing    = "closing"
	RecordingNotStarted = "not started" // the call was to be recorded, but the recording could not start
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
	// floor is the free space recordings leave for the database when they share its file system
	// (recording.low_disk_mb); 0 when the recordings have a file system of their own.
	floor uint64

	mu    sync.Mutex
	calls map[string]*callMedia

	finishing sync.WaitGroup // recordings being closed at the end of their calls
	totals    recordingTotals
	quit      chan struct{} // closed when the appliance stops: slow closes get one last bound

	// The lowest layer, for tests: the close bound and the recording files (nil: the disk).
	closeTimeout time.Duration
	openFile     func(path string) (recorder.File, error)
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
	m := &mediaPart{cfg: cfg, root: root, layout: recorder.Layout{Root: root}, keeper: k, log: log, clock: clock,
		failed: failed, calls: map[string]*callMedia{}, quit: make(chan struct{}), closeTimeout: closeRecordingTimeout}
	if same, err := sameFileSystem(root, cfg.StateDir); err != nil || same {
		m.floor = uint64(cfg.Recording.LowDiskMB) << 20 // when in doubt, keep the room
	}
	return m, nil
}

// sameFileSystem reports whether a and b are on one file system (one device).
func sameFileSystem(a, b string) (bool, error) {
	var sa, sb syscall.Stat_t
	if err := syscall.Stat(a, &sa); err != nil {
		return false, fmt.Errorf("stat %s: %w", a, err)
	}
	if err := syscall.Stat(b, &sb); err != nil {
		return false, fmt.Errorf("stat %s: %w", b, err)
	}
	return sa.Dev == sb.Dev, nil
}

// begin notes a call as it arrives, with its route's recording decision. A recorded call's file
// starts at the agent's connect (connected), or at once with recording.include_queue.
func (m *mediaPart) begin(id string, record bool, arrived time.Time) {
	cm := &callMedia{part: m, id: id, started: arrived, record: record}
	cm.rolling.Store(record && m.cfg.Recording.IncludeQueue)
	for i := range cm.legs {
		cm.legs[i].stats = rtpstats.New(rtpstats.Config{})
	}
	m.mu.Lock()
	m.calls[id] = cm
	m.mu.Unlock()
}

// connected starts the recording of a recorded call when its caller reaches an agent: from here on
// its audio goes to the file (it went there already with recording.include_queue).
func (m *mediaPart) connected(id string) {
	m.mu.Lock()
	cm := m.calls[id]
	m.mu.Unlock()
	if cm != nil && cm.record {
		cm.rolling.Store(true)
	}
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
// call path; Wait waits for every finish in flight. A close that overruns its bound is not a cut:
// the record says closing, and later (given to post) gets the file's final state.
func (m *mediaPart) finish(id string, end time.Time, later func(call.Event)) []call.Event {
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
		if reason := cm.notStarted.Load(); reason != nil {
			ref := &call.RecordingRef{Status: RecordingNotStarted, Reason: *reason}
			evs = append(evs, call.Event{CallID: id, Kind: call.KindRecording, At: end, Recording: ref})
		}
		return evs
	}
	// Teardown owned here: the file must be finished even when the appliance is stopping.
	ctx, cancel := context.WithTimeout(context.Background(), m.closeTimeout)
	defer cancel()
	res, err := w.Close(ctx, end)
	if err != nil && ctx.Err() != nil {
		// A slow disk, not a failed one: the writer finishes the file on its own.
		m.log.Warn("recording still closing after the call ended", "call", id, "bound", m.closeTimeout)
		m.finishing.Go(func() { m.closeLate(cm, w, end, later) })
		ref := &call.RecordingRef{Status: RecordingClosing, Path: m.rel(recorder.OtherName(res.Path))}
		return append(evs, call.Event{CallID: id, Kind: call.KindRecording, At: end, Recording: ref})
	}
	return append(evs, m.closed(cm, res, err, end))
}

// closeLate waits for a recording whose close overran its bound and gives later the file's final
// state. When the appliance stops it waits closeTimeout more, then leaves the file (in progress)
// to Repair at the next start, which marks the call interrupted.
func (m *mediaPart) closeLate(cm *callMedia, w *recorder.Writer, end time.Time, later func(call.Event)) {
	select {
	case <-w.Done():
	case <-m.quit:
		t := time.NewTimer(m.closeTimeout)
		defer t.Stop()
		select {
		case <-w.Done():
		case <-t.C:
			m.log.Warn("recording not finished at stop; repaired at the next start", "call", cm.id)
			return
		}
	}
	res, err := w.Close(context.Background(), end) // finished: returns its result at once
	later(m.closed(cm, res, err, m.clock.Now()))
}

// closed is the journal event of a finished recording.
func (m *mediaPart) closed(cm *callMedia, res recorder.Result, err error, at time.Time) call.Event {
	m.keeper.Notify()
	m.totals.add(res)
	ref := &call.RecordingRef{Status: RecordingComplete, Path: m.rel(res.Path), Duration: res.Duration}
	if !res.Start.IsZero() {
		ref.Offset = res.Start.Sub(cm.started)
	}
	if err != nil || res.Status != recorder.StatusComplete {
		ref.Status = RecordingCut
		reason := err
		if reason == nil {
			reason = res.Reason
		}
		ref.Reason = recordingReason(reason)
		m.log.Warn("recording cut", "call", cm.id, "reason", ref.Reason)
		m.failed(true)
	} else {
		m.failed(false)
	}
	return call.Event{CallID: cm.id, Kind: call.KindRecording, At: at, Recording: ref}
}

// rel is a recording's path relative to the recordings folder, as the record keeps it.
func (m *mediaPart) rel(path string) string {
	rel, err := filepath.Rel(m.root, path)
	if err != nil {
		return ""
	}
	return rel
}

func recordingReason(err error) string {
	switch {
	case err == nil:
		return "unknown"
	case errors.Is(err, recorder.ErrDiskFull):
		return "disk full"
	case errors.Is(err, recorder.ErrBufferFull):
		return "disk too slow"
	case errors.Is(err, recorder.ErrLowDisk):
		return "disk low: the room left is kept for call records"
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
	rolling atomic.Bool // audio goes to the recording: record, and connected or include_queue
	legs    [2]legMedia

	once       sync.Once
	w          atomic.Pointer[recorder.Writer] // set once the first audio packet started the recording
	notStarted atomic.Pointer[string]          // why the recording could not start, if it could not
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
	if !audio || !c.rolling.Load() {
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
	w, err := recorder.Start(p.layout, c.id, c.started.In(p.cfg.Site.Location),
		recorder.WriterConfig{Codec: codec, OpenFile: p.openFile, MinFreeBytes: p.floor}, p.log, p.clock)
	if err != nil {
		p.log.Error("recording could not start; the call goes on unrecorded", "call", c.id, "err", err)
		reason := recordingReason(err)
		c.notStarted.Store(&reason)
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
			ref.Path = m.rel(r.Path)
		}
		if r.Err != nil {
			ref.Reason = r.Err.Error()
		}
		evs = append(evs, call.Event{CallID: r.CallID, Kind: call.KindRecording, At: m.clock.Now(), Recording: ref})
	}
	return evs
}

// settleClosing gives each call whose record still says closing (the appliance stopped while a
// slow close went on) its file's real state: complete when the finished file is there, else
// interrupted. repaired names the calls repair has just marked; they are left as repair said.
func (m *mediaPart) settleClosing(closing []call.Record, repaired map[string]bool) []call.Event {
	var evs []call.Event
	for _, r := range closing {
		if repaired[r.ID] {
			continue
		}
		ref := &call.RecordingRef{Status: RecordingComplete, Path: r.Recording, Offset: r.RecordingOffset}
		if p, err := recorder.OpenPCM(filepath.Join(m.root, r.Recording)); err == nil {
			ref.Duration = p.Duration()
			p.Close()
		} else {
			ref.Status, ref.Reason = RecordingInterrupted, "the appliance stopped before the file was finished"
			m.log.Warn("recording still closing at the last stop is not there", "call", r.ID, "err", err)
		}
		evs = append(evs, call.Event{CallID: r.ID, Kind: call.KindRecording, At: m.clock.Now(), Recording: ref})
	}
	return evs
}
