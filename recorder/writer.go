package recorder

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Leg is a direction of the call, and a channel of the file.
type Leg uint8

// The two legs.
const (
	Caller Leg = 0 // left channel: what the caller sent
	Agent  Leg = 1 // right channel: what the agent (or the appliance) sent to the caller
)

// Clock tells the time; the writer uses it to pace flushes.
type Clock interface{ Now() time.Time }

// Defaults for WriterConfig.
const (
	// DefaultBufferBytes bounds the input buffer (twice: one filling, one draining): about 1.8 s of
	// both legs at 20 ms packets, which rides out a disk that stalls for a second.
	DefaultBufferBytes = 32 << 10
	// DefaultFlushInterval is how often audio and header sizes reach the file. With the resync
	// threshold and the drain tick it bounds what kill -9 can lose to 900 ms.
	DefaultFlushInterval = 500 * time.Millisecond
	// DefaultReorderWindow is how long a place in the timeline stays open for late packets; a desk
	// phone's jitter buffer discards packets later than this too.
	DefaultReorderWindow = 100 * time.Millisecond
	// DefaultResyncThreshold: when a packet's RTP timestamp puts it further than this from where its
	// arrival time says it belongs, the leg's timeline is re-anchored on arrival (SSRC change,
	// timestamp jump on re-INVITE, an RTP clock frozen during hold).
	// It is also how long a quiet leg holds back writing the other (see settleActive).
	DefaultResyncThreshold = 300 * time.Millisecond
	// DefaultMaxPayload is the largest payload accepted: 60 ms of G.711.
	DefaultMaxPayload = 480
	// DefaultMaxTrailingSilence caps the silence Close adds between the last packet and the call's end.
	DefaultMaxTrailingSilence = time.Hour
	// drainInterval is how often the writer goroutine empties the input buffer when not woken sooner.
	drainInterval = 100 * time.Millisecond
	// lossBound is the most audio a crash may cost (issue 4): flush + resync threshold + drain must
	// fit in it.
	lossBound = time.Second
	// recordBytes is the fixed part of one buffered packet: leg, length, seq, timestamp, arrival.
	recordBytes = 1 + 2 + 2 + 4 + 8
)

// WriterConfig tunes a Writer; zero fields take the defaults above.
type WriterConfig struct {
	// Codec is the law of both legs (Ulaw when zero); see CodecForPayloadType.
	Codec              Codec
	BufferBytes        int
	FlushInterval      time.Duration
	ReorderWindow      time.Duration
	ResyncThreshold    time.Duration
	MaxPayload         int
	MaxTrailingSilence time.Duration
	// MinFreeBytes is a floor of free space the recordings leave on their file system, for what
	// shares it (the call records' database): Start refuses with ErrLowDisk below it, and a
	// recording whose next flush would go below it is cut with ErrLowDisk. 0: no floor.
	MinFreeBytes uint64
	// Fsync makes every flush fsync the file (power-loss safety at the cost of disk wear on SD cards).
	// Close always fsyncs.
	Fsync bool

	// OpenFile creates the recording file (exclusively, mode FileMode); nil opens it on the file
	// system. Tests replace it to stand for a slow or failing disk.
	OpenFile func(path string) (File, error)
}

func (c *WriterConfig) applyDefaults() error {
	if c.Codec == 0 {
		c.Codec = Ulaw
	}
	if !c.Codec.valid() {
		return fmt.Errorf("%w: Codec %d", ErrConfig, c.Codec)
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.ReorderWindow == 0 {
		c.ReorderWindow = DefaultReorderWindow
	}
	if c.ResyncThreshold == 0 {
		c.ResyncThreshold = DefaultResyncThreshold
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxTrailingSilence == 0 {
		c.MaxTrailingSilence = DefaultMaxTrailingSilence
	}
	switch {
	case c.MaxPayload < 0 || c.MaxPayload > 0xffff:
		return fmt.Errorf("%w: MaxPayload %d", ErrConfig, c.MaxPayload)
	case c.BufferBytes < 4*(recordBytes+c.MaxPayload):
		return fmt.Errorf("%w: BufferBytes %d holds fewer than 4 packets", ErrConfig, c.BufferBytes)
	case c.FlushInterval < 0 || c.ReorderWindow < 0 || c.FlushInterval+c.ResyncThreshold+drainInterval > lossBound:
		return fmt.Errorf("%w: FlushInterval %v + ResyncThreshold %v + %v drain exceeds %v", ErrConfig, c.FlushInterval, c.ResyncThreshold, drainInterval, lossBound)
	case c.ResyncThreshold <= c.ReorderWindow:
		return fmt.Errorf("%w: ResyncThreshold %v must exceed ReorderWindow %v", ErrConfig, c.ResyncThreshold, c.ReorderWindow)
	}
	return nil
}

// File is what the writer needs of the file; *os.File satisfies it.
type File interface {
	WriteAt(b []byte, off int64) (int, error)
	Truncate(size int64) error
	Sync() error
	Close() error
}

func openFile(path string) (File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
}

// Status is the outcome of a recording.
type Status string

// Outcomes.
const (
	StatusComplete Status = "complete" // every packet that arrived in time is in the file
	StatusCut      Status = "cut"      // the recording stopped early; Result.Reason says why
)

// Result describes a closed recording, for the call record.
type Result struct {
	CallID   string
	Path     string // final path (or the .part path if the file could not be finalised)
	Status   Status
	Reason   error // nil when complete; wraps ErrBufferFull, ErrDiskFull, ErrLowDisk or ErrWrite when cut
	Frames   int64 // sample frames in the file (8000 a second)
	Duration time.Duration
	// Start is when the file's first frame was heard (its first packet's arrival, on the clock
	// given to Start); zero when no packet came.
	Start time.Time
	// Packets counts the packets accepted by Write; Late those (or parts) that came after their place
	// in the file was written, Oversize those larger than MaxPayload, Dropped those refused once the
	// recording was cut (until Close). Resyncs counts timeline re-anchors.
	Packets, Late, Oversize, Dropped, Resyncs uint64
	// PeakBuffer is the highest input-buffer occupancy seen, in bytes, out of BufferBytes.
	PeakBuffer, BufferBytes int
}

// legState maps one leg's RTP timestamps to frames of the file.
type legState struct {
	anchored bool
	lastTS   uint32
	extTS    int64 // extended timestamp of lastTS
	offset   int64 // frame = extended timestamp + offset
	lastSeq  uint16
	end      int64 // one past the last frame this leg wrote
	lastArr  int64 // arrival frame of the leg's latest packet
}

// Writer records one call into one stereo G.711 WAV. Write is called from the media path and never
// blocks on the disk; one goroutine per Writer drains a bounded buffer into the file.
type Writer struct {
	cfg    WriterConfig
	log    *slog.Logger
	clock  Clock
	base   time.Time // arrivals are kept as durations since base
	callID string
	final  string
	part   string
	f      File

	// Shared with Write, guarded by mu.
	mu       sync.Mutex
	in       []byte
	cut      error
	closing  bool
	closeEnd time.Time
	packets  uint64
	oversize uint64
	dropped  uint64
	peak     int

	wake chan struct{} // cap 1: data waiting or close requested
	done chan struct{} // closed when the goroutine has finished the file

	// Owned by the writer goroutine.
	spare     []byte
	haveT0    bool
	t0        time.Duration // arrival of the first packet, after base
	maxArr    int64         // frame of the latest arrival
	legs      [2]legState
	buf       []byte // frames [flushed, flushed+len(buf)/2), silence where nothing was placed
	bufCap    int64  // frames buf may hold
	flushed   int64  // frames written to the file
	committed int64  // frames final (no packet may change them any more)
	end       int64  // one past the last frame any packet wrote
	lastFlush time.Time
	late      uint64
	resyncs   uint64
	result    Result
}

// Start creates Root/YYYY/MM/DD/<callID>.wav.part (folders 0700, file 0600) and starts the writer
// goroutine. Close must be called to finish the file and stop the goroutine.
func Start(l Layout, callID string, started time.Time, cfg WriterConfig, log *slog.Logger, clock Clock) (*Writer, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	final, err := l.Path(callID, started)
	if err != nil {
		return nil, err
	}
	open := cfg.OpenFile
	if open == nil {
		open = openFile
	}
	part := final + PartSuffix
	if cfg.MinFreeBytes > 0 {
		if err := checkFloor(l.Root, 0, cfg.MinFreeBytes); err != nil {
			return nil, fmt.Errorf("recorder: start %s: %w", callID, err)
		}
	}
	var f File
	// Two tries: the Keeper may prune an empty day folder between MkdirAll and the create.
	for try := 0; try < 2; try++ {
		if err = os.MkdirAll(filepath.Dir(final), FolderMode); err != nil {
			return nil, fmt.Errorf("recorder: folder for %s: %w", callID, err)
		}
		if f, err = open(part); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("recorder: create %s: %w", part, err)
	}
	h := header(cfg.Codec, 0)
	if _, err := f.WriteAt(h[:], 0); err != nil {
		f.Close()
		os.Remove(part)
		return nil, fmt.Errorf("recorder: header of %s: %w", part, classify(err))
	}
	framesPerSec := int64(sampleRate)
	w := &Writer{
		cfg:       cfg,
		log:       log.With("call", callID),
		clock:     clock,
		callID:    callID,
		final:     final,
		part:      part,
		f:         f,
		in:        make([]byte, 0, cfg.BufferBytes),
		spare:     make([]byte, 0, cfg.BufferBytes),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		bufCap:    framesPerSec*int64(cfg.FlushInterval+cfg.ResyncThreshold+drainInterval)/int64(time.Second) + framesPerSec/2,
		lastFlush: clock.Now(),
	}
	w.base = w.lastFlush
	w.buf = make([]byte, 0, w.bufCap*frameBytes)
	go w.run()
	return w, nil
}

// Write hands one received RTP payload of one leg to the recording: its RTP timestamp and sequence
// number, the time it arrived, and the G.711 bytes (copied; the caller may reuse payload at once).
// It never blocks on the disk: when the buffer is full the recording is cut and later calls return
// at once. Safe for concurrent use by both legs' receive loops.
func (w *Writer) Write(leg Leg, rtpTimestamp uint32, seq uint16, arrival time.Time, payload []byte) {
	if leg > Agent || len(payload) == 0 {
		return
	}
	w.mu.Lock()
	if w.cut != nil || w.closing {
		if !w.closing {
			w.dropped++
		}
		w.mu.Unlock()
		return
	}
	if len(payload) > w.cfg.MaxPayload {
		w.oversize++
		w.mu.Unlock()
		return
	}
	n := len(w.in)
	need := recordBytes + len(payload)
	if n+need > cap(w.in) {
		w.dropped++
		w.cut = ErrBufferFull
		w.mu.Unlock()
		w.signal()
		return
	}
	w.in = w.in[:n+need]
	r := w.in[n:]
	r[0] = byte(leg)
	binary.LittleEndian.PutUint16(r[1:], uint16(len(payload)))
	binary.LittleEndian.PutUint16(r[3:], seq)
	binary.LittleEndian.PutUint32(r[5:], rtpTimestamp)
	// Relative to base, so the monotonic clock is used when arrival carries it: a wall-clock
	// step (NTP on a board without an RTC) must not move audio on the timeline.
	binary.LittleEndian.PutUint64(r[9:], uint64(arrival.Sub(w.base)))
	copy(r[recordBytes:], payload)
	w.packets++
	if n+need > w.peak {
		w.peak = n + need
	}
	half := n+need > cap(w.in)/2
	w.mu.Unlock()
	if half {
		w.signal()
	}
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Close ends the recording at end (the call's end; silence is added up to it, at most
// MaxTrailingSilence after the last packet; zero ends at the last packet), finishes the file and
// renames it to its final name. It waits for the writer goroutine until ctx is done; the goroutine
// then finishes on its own. The teardown context is the caller's to own: pass a
// context.WithoutCancel with a deadline so a cancelled call still gets its file finished.
// Close may be called again (after a timeout, say): later calls ignore end, wait again and return
// the same Result.
func (w *Writer) Close(ctx context.Context, end time.Time) (Result, error) {
	w.mu.Lock()
	if !w.closing {
		w.closing = true
		w.closeEnd = end
	}
	w.mu.Unlock()
	w.signal()
	select {
	case <-w.done:
		return w.result, nil
	case <-ctx.Done():
		return Result{CallID: w.callID, Path: w.part}, fmt.Errorf("recorder: closing %s: %w", w.callID, ctx.Err())
	}
}

// Done is closed once the file is finished (after Close).
func (w *Writer) Done() <-chan struct{} { return w.done }

// run is the writer goroutine: it drains the input buffer, places packets on the timeline and
// writes settled frames to the file. It stops after Close or a cut, and Close waits for it.
func (w *Writer) run() {
	defer close(w.done)
	tick := time.NewTicker(drainInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.wake:
		case <-tick.C:
		}
		w.mu.Lock()
		w.in, w.spare = w.spare[:0], w.in
		cut, closing, end := w.cut, w.closing, w.closeEnd
		w.mu.Unlock()

		err := w.drain(w.spare)
		if err == nil && cut == nil && !closing {
			if w.clock.Now().Sub(w.lastFlush) >= w.cfg.FlushInterval {
				err = w.flush(w.cfg.Fsync)
			}
		}
		if err != nil {
			w.setCut(err)
			w.finish(err, time.Time{})
			return
		}
		if cut != nil || closing {
			w.finish(cut, end)
			return
		}
	}
}

func (w *Writer) setCut(err error) {
	w.mu.Lock()
	if w.cut == nil {
		w.cut = err
	}
	w.mu.Unlock()
}

// frames converts a duration to sample frames.
func (w *Writer) frames(d time.Duration) int64 { return int64(d) / int64(time.Second/sampleRate) }

// drain places every buffered packet.
func (w *Writer) drain(b []byte) error {
	for len(b) >= recordBytes {
		leg := Leg(b[0])
		n := int(binary.LittleEndian.Uint16(b[1:]))
		seq := binary.LittleEndian.Uint16(b[3:])
		ts := binary.LittleEndian.Uint32(b[5:])
		arr := int64(binary.LittleEndian.Uint64(b[9:]))
		if err := w.place(leg, ts, seq, arr, b[recordBytes:recordBytes+n]); err != nil {
			return err
		}
		b = b[recordBytes+n:]
	}
	return nil
}

// place puts one payload on the timeline.
func (w *Writer) place(leg Leg, ts uint32, seq uint16, arrivalNano int64, payload []byte) error {
	arrival := time.Duration(arrivalNano)
	if !w.haveT0 {
		w.t0, w.haveT0 = arrival, true
	}
	arrPos := w.frames(arrival - w.t0)
	if arrPos > w.maxArr {
		w.maxArr = arrPos
	}
	ls := &w.legs[leg]
	var pos int64
	resync := !ls.anchored
	if ls.anchored {
		ext := ls.extTS + int64(int32(ts-ls.lastTS))
		pos = ext + ls.offset
		seqStep := int16(seq - ls.lastSeq)
		drift := pos - arrPos
		if drift < 0 {
			drift = -drift
		}
		if drift > w.frames(w.cfg.ResyncThreshold) || seqStep > 1000 || seqStep < -1000 {
			resync = true
			w.resyncs++
		} else if ext > ls.extTS {
			ls.extTS, ls.lastTS, ls.lastSeq = ext, ts, seq
		}
	}
	if resync {
		// Anchor on arrival, never on top of this leg's own audio.
		pos = arrPos
		if pos < ls.end {
			pos = ls.end
		}
		*ls = legState{anchored: true, lastTS: ts, extTS: 0, offset: pos, lastSeq: seq, end: ls.end, lastArr: ls.lastArr}
	}
	if pos < w.committed {
		w.late++
		skip := w.committed - pos
		if skip >= int64(len(payload)) {
			return nil
		}
		payload = payload[skip:]
		pos = w.committed
	}
	last := pos + int64(len(payload))
	if err := w.reserve(last); err != nil {
		return err
	}
	i := int((pos-w.flushed)*frameBytes) + int(leg)
	for _, c := range payload {
		w.buf[i] = c
		i += frameBytes
	}
	if last > ls.end {
		ls.end = last
	}
	if last > w.end {
		w.end = last
	}
	if arrPos > ls.lastArr {
		ls.lastArr = arrPos
	}
	w.settleActive()
	return nil
}

// settleActive makes final the frames more than ReorderWindow behind the newest audio of every
// active leg. A leg is active while its latest packet arrived within ResyncThreshold of the newest
// arrival of the call; a leg that went quiet (hold, silence suppression, one-way audio) stops
// holding the other back after that long. Judging lateness by each leg's own timestamps, not by
// arrival, means a burst that follows a network stall is placed, not dropped.
func (w *Writer) settleActive() {
	h, active := int64(math.MaxInt64), false
	for i := range w.legs {
		ls := &w.legs[i]
		if ls.anchored && w.maxArr-ls.lastArr <= w.frames(w.cfg.ResyncThreshold) {
			h, active = min(h, ls.end-w.frames(w.cfg.ReorderWindow)), true
		}
	}
	if active {
		w.settle(h)
	}
}

// reserve makes frames up to last addressable in buf, committing and writing older frames to the
// file when buf would overflow (a long gap, or a leg far ahead of the other).
func (w *Writer) reserve(last int64) error {
	for last-w.flushed > w.bufCap {
		target := last - w.bufCap
		if target > w.flushed+w.bufCap {
			target = w.flushed + w.bufCap
		}
		w.settle(target)
		if err := w.flush(false); err != nil {
			return err
		}
	}
	w.extend(last)
	return nil
}

// extend grows buf with silence so it covers frames up to last.
func (w *Writer) extend(last int64) {
	want := int((last - w.flushed) * frameBytes)
	if want <= len(w.buf) {
		return
	}
	old := len(w.buf)
	w.buf = w.buf[:want]
	s := w.cfg.Codec.Silence()
	for i := old; i < want; i++ {
		w.buf[i] = s
	}
}

// settle marks frames before f final.
func (w *Writer) settle(f int64) {
	if f <= w.committed {
		return
	}
	if f-w.flushed > w.bufCap {
		f = w.flushed + w.bufCap
	}
	w.extend(f)
	w.committed = f
}

// flush writes the settled frames, then the header sizes that cover them, optionally fsyncing.
func (w *Writer) flush(sync bool) error {
	w.lastFlush = w.clock.Now()
	if headerBytes+w.committed*frameBytes > math.MaxUint32 {
		// RIFF sizes are 32-bit: about 74 hours of stereo G.711.
		w.committed = (math.MaxUint32 - headerBytes) / frameBytes
		if w.committed <= w.flushed {
			return ErrTooLong
		}
	}
	n := int((w.committed - w.flushed) * frameBytes)
	if n > 0 && w.cfg.MinFreeBytes > 0 {
		if err := checkFloor(filepath.Dir(w.part), uint64(n), w.cfg.MinFreeBytes); err != nil {
			return fmt.Errorf("recorder: writing %s: %w", w.part, err)
		}
	}
	if n > 0 {
		wrote, err := w.f.WriteAt(w.buf[:n], headerBytes+w.flushed*frameBytes)
		w.flushed += int64(wrote / frameBytes)
		if err != nil {
			return fmt.Errorf("recorder: writing %s: %w", w.part, classify(err))
		}
		rest := copy(w.buf, w.buf[n:])
		w.buf = w.buf[:rest]
	}
	h := header(w.cfg.Codec, w.flushed)
	if _, err := w.f.WriteAt(h[:], 0); err != nil {
		return fmt.Errorf("recorder: header of %s: %w", w.part, classify(err))
	}
	if sync {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("recorder: fsync %s: %w", w.part, classify(err))
		}
	}
	return nil
}

// finish writes what can be written, closes and renames the file, and fills in the result.
func (w *Writer) finish(cut error, end time.Time) {
	r := Result{CallID: w.callID, Path: w.final, Status: StatusComplete, BufferBytes: w.cfg.BufferBytes}
	var err error
	if cut == nil || errors.Is(cut, ErrBufferFull) {
		// The disk works (perhaps slowly): keep everything placed so far.
		last := w.end
		if cut == nil && !end.IsZero() && w.haveT0 {
			if e := w.frames(end.Sub(w.base) - w.t0); e > last {
				last = min(e, w.end+w.frames(w.cfg.MaxTrailingSilence))
			}
		}
		for err == nil && w.committed < last {
			if err = w.reserve(last); err == nil {
				w.settle(last)
				err = w.flush(false)
			}
		}
		if err == nil {
			err = w.flush(true)
		}
	}
	if err != nil && cut == nil {
		cut = err
	}
	if cut != nil {
		r.Status, r.Reason = StatusCut, cut
		if !errors.Is(cut, ErrBufferFull) {
			// After a disk error, make the file hold exactly the frames known written (a failed
			// write may have left part of a block) and the header cover them, if the disk lets us.
			h := header(w.cfg.Codec, w.flushed)
			if terr := w.f.Truncate(headerBytes + w.flushed*frameBytes); terr != nil {
				r.Path = w.part // left for Repair at the next start
			} else if _, herr := w.f.WriteAt(h[:], 0); herr != nil {
				r.Path = w.part
			}
		}
	}
	if cerr := w.f.Close(); cerr != nil && r.Path == w.final {
		r.Status, r.Reason, r.Path = StatusCut, fmt.Errorf("recorder: close %s: %w", w.part, classify(cerr)), w.part
	}
	if r.Path == w.final {
		if rerr := os.Rename(w.part, w.final); rerr != nil {
			r.Path = w.part
			if r.Reason == nil {
				r.Status, r.Reason = StatusCut, fmt.Errorf("recorder: rename %s: %w", w.part, classify(rerr))
			}
		} else if w.cfg.Fsync {
			syncDir(filepath.Dir(w.final))
		}
	}
	w.mu.Lock()
	r.Packets, r.Oversize, r.Dropped, r.PeakBuffer = w.packets, w.oversize, w.dropped, w.peak
	w.mu.Unlock()
	r.Frames = w.flushed
	r.Duration = time.Duration(w.flushed) * (time.Second / sampleRate)
	r.Late, r.Resyncs = w.late, w.resyncs
	if w.haveT0 {
		r.Start = w.base.Add(w.t0)
	}
	if r.Status == StatusCut {
		w.log.Warn("recording cut", "reason", r.Reason, "seconds", r.Duration.Seconds())
	}
	w.result = r
}

// checkFloor returns ErrLowDisk when writing n more bytes in dir would leave less than floor free.
func checkFloor(dir string, n, floor uint64) error {
	free, err := freeBytes(dir)
	if err != nil {
		return err
	}
	if free < floor+n {
		return fmt.Errorf("%w: %d bytes free, %d kept", ErrLowDisk, free, floor)
	}
	return nil
}

// classify wraps a file error in the sentinel the call record shows.
func classify(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return fmt.Errorf("%w: %w", ErrWrite, err)
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
