package recorder

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const callA = "0192f6a4-7b1c-7d2e-8f30-4a5b6c7d8e9f"

func startWriter(t testing.TB, root string, cfg WriterConfig, clk Clock) *Writer {
	t.Helper()
	w, err := Start(Layout{Root: root}, callA, epoch, cfg, testLogger(t), clk)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWriterTimeline(t *testing.T) {
	cases := []struct {
		name string
		call synthCall
		late bool // some packets arrive after their place was written
	}{
		{name: "clean mu-law", call: synthCall{packets: 500, agentLag: 7 * time.Millisecond, codec: Ulaw}},
		{name: "clean A-law", call: synthCall{packets: 300, agentLag: 13 * time.Millisecond, codec: Alaw}},
		{name: "5% loss and reordering", call: synthCall{packets: 1500, agentLag: 3 * time.Millisecond, lossEvery: 20, lateEvery: 13, lateBy: 50 * time.Millisecond, codec: Ulaw}},
		{name: "agent starts a second late", call: synthCall{packets: 400, agentLag: time.Second, lossEvery: 7, codec: Alaw}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			clk := &fakeClock{now: epoch}
			w := startWriter(t, root, WriterConfig{Codec: c.call.codec, BufferBytes: 4 << 20}, clk)
			pkts, want := c.call.build()
			r := play(t, w, clk, pkts, c.call.endTime())
			if r.Status != StatusComplete || r.Reason != nil {
				t.Fatalf("status %s reason %v", r.Status, r.Reason)
			}
			if r.Late != 0 || r.Resyncs != 0 {
				t.Fatalf("late %d resyncs %d, want none", r.Late, r.Resyncs)
			}
			wantPath := filepath.Join(root, "2026", "11", "22", callA+".wav")
			if r.Path != wantPath {
				t.Fatalf("path %s, want %s", r.Path, wantPath)
			}
			info, got := readWAV(t, r.Path)
			if Codec(info.Format) != c.call.codec || info.Channels != 2 || info.Rate != 8000 || info.Bits != 8 {
				t.Fatalf("format %+v", info)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("audio differs: %s", firstDiff(got, want))
			}
			dur := c.call.endTime().Sub(epoch)
			if d := r.Duration - dur; d < -20*time.Millisecond || d > 20*time.Millisecond {
				t.Fatalf("duration %v, call lasted %v", r.Duration, dur)
			}
			if r.Packets != uint64(len(pkts)) {
				t.Fatalf("packets %d, sent %d", r.Packets, len(pkts))
			}
		})
	}
}

// TestWriterTooLate: a packet arriving after its frames were written is dropped (silence stays) and
// counted; the rest of the timeline is untouched.
func TestWriterTooLate(t *testing.T) {
	call := synthCall{packets: 200, codec: Ulaw}
	pkts, want := call.build()
	// Make caller packet 50 arrive 300 ms late: beyond the 100 ms window, within the resync threshold.
	for i, p := range pkts {
		if p.leg == Caller && p.seq == uint16(65500+50-65536) {
			pkts[i].arrival = p.arrival.Add(300 * time.Millisecond)
			for k := 0; k < 160; k++ {
				want[(50*160+k)*2] = Ulaw.Silence()
			}
		}
	}
	sortByArrival(pkts)
	clk := &fakeClock{now: epoch}
	w := startWriter(t, t.TempDir(), WriterConfig{BufferBytes: 1 << 20}, clk)
	r := play(t, w, clk, pkts, call.endTime())
	if r.Late != 1 || r.Resyncs != 0 {
		t.Fatalf("late %d resyncs %d, want 1 and 0", r.Late, r.Resyncs)
	}
	_, got := readWAV(t, r.Path)
	if !bytes.Equal(got, want) {
		t.Fatalf("audio differs: %s", firstDiff(got, want))
	}
}

// TestWriterHoldAndReinvite: the caller's RTP clock freezes during a 5 s hold, then the agent's
// stream restarts with a new SSRC (new timestamps and sequence numbers) after a re-INVITE. Audio
// must land where it arrived, with silence for the hold.
func TestWriterHoldAndReinvite(t *testing.T) {
	const spp = 160
	hold := 5 * time.Second
	var pkts []packet
	var want []byte
	put := func(leg Leg, frame int, payload []byte) {
		for len(want) < (frame+len(payload))*2 {
			want = append(want, Ulaw.Silence())
		}
		for k, b := range payload {
			want[(frame+k)*2+int(leg)] = b
		}
	}
	ts := [2]uint32{1000, 50000}
	seq := [2]uint16{1, 900}
	send := func(leg Leg, i int, at time.Duration) {
		p := packet{leg: leg, ts: ts[leg], seq: seq[leg], arrival: epoch.Add(at), payload: make([]byte, spp)}
		for k := range p.payload {
			p.payload[k] = audioByte(leg, i, k)
		}
		ts[leg] += spp
		seq[leg]++
		pkts = append(pkts, p)
		put(leg, int(at/(time.Second/sampleRate)), p.payload)
	}
	for i := 0; i < 100; i++ { // 2 s of conversation
		at := time.Duration(i) * 20 * time.Millisecond
		send(Caller, i, at)
		send(Agent, i, at)
	}
	// Hold: the caller stops sending and its timestamps do not advance; the agent side hears music
	// from the appliance, which is not recorded here, so the agent sends nothing either.
	ts[Agent], seq[Agent] = 3_000_000_000, 40000 // re-INVITE: new SSRC, new numbering
	for i := 100; i < 200; i++ {
		at := 2*time.Second + hold + time.Duration(i-100)*20*time.Millisecond
		send(Caller, i, at)
		send(Agent, i, at)
	}
	end := 2*time.Second + hold + 2*time.Second
	for len(want) < int(end/(time.Second/sampleRate))*2 {
		want = append(want, Ulaw.Silence())
	}
	clk := &fakeClock{now: epoch}
	w := startWriter(t, t.TempDir(), WriterConfig{BufferBytes: 1 << 20}, clk)
	r := play(t, w, clk, pkts, epoch.Add(end))
	if r.Resyncs != 2 {
		t.Fatalf("resyncs %d, want 2 (one per leg)", r.Resyncs)
	}
	_, got := readWAV(t, r.Path)
	if !bytes.Equal(got, want) {
		t.Fatalf("audio differs: %s", firstDiff(got, want))
	}
}

func sortByArrival(p []packet) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].arrival.Before(p[j-1].arrival); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

func TestWriterModesAndNames(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: epoch}
	w := startWriter(t, root, WriterConfig{}, clk)
	part := filepath.Join(root, "2026", "11", "22", callA+".wav.part")
	st, err := os.Stat(part)
	if err != nil {
		t.Fatalf("in-progress file: %v", err)
	}
	if st.Mode().Perm() != FileMode {
		t.Fatalf("file mode %v", st.Mode().Perm())
	}
	for _, d := range []string{"2026", "2026/11", "2026/11/22"} {
		st, err := os.Stat(filepath.Join(root, d))
		if err != nil || st.Mode().Perm() != FolderMode {
			t.Fatalf("folder %s: %v %v", d, st.Mode().Perm(), err)
		}
	}
	// A second recording of the same call id must not overwrite the first.
	if _, err := Start(Layout{Root: root}, callA, epoch, WriterConfig{}, testLogger(t), clk); err == nil {
		t.Fatal("second Start of the same call succeeded")
	}
	r := play(t, w, clk, nil, time.Time{})
	if r.Status != StatusComplete || r.Frames != 0 {
		t.Fatalf("empty recording: %+v", r)
	}
	readWAV(t, r.Path)
	if again, err := w.Close(context.Background(), time.Time{}); err != nil || again != r {
		t.Fatalf("second Close: %+v %v", again, err)
	}
	for _, bad := range []string{"../../etc/passwd", "0192F6A4-7B1C-7D2E-8F30-4A5B6C7D8E9F", "0192f6a4-7b1c-7d2e-8f30-4a5b6c7d8e9", "0192f6a4/7b1c-7d2e-8f30-4a5b6c7d8e9f", "0192f6a47b1c7d2e8f304a5b6c7d8e9f1234", ""} {
		if _, err := Start(Layout{Root: root}, bad, epoch, WriterConfig{}, testLogger(t), clk); !errors.Is(err, ErrBadCallID) {
			t.Fatalf("call id %q accepted: %v", bad, err)
		}
	}
	if _, err := Start(Layout{Root: root}, callA, epoch, WriterConfig{FlushInterval: time.Second}, testLogger(t), clk); !errors.Is(err, ErrConfig) {
		t.Fatalf("flush interval of 1 s accepted: %v", err)
	}
}

// blockingFile is a file whose writes wait until released: a disk that stalls.
type blockingFile struct {
	File
	release chan struct{}
	entered chan struct{}
	armed   bool
}

func (b *blockingFile) WriteAt(p []byte, off int64) (int, error) {
	if b.armed {
		select {
		case b.entered <- struct{}{}:
		default:
		}
		<-b.release
	}
	b.armed = true // the header at Start goes through
	return b.File.WriteAt(p, off)
}

// TestWriterStalledDiskCuts: while the disk stalls, Write keeps returning at once; the buffer fills,
// the recording is cut with ErrBufferFull, and what was buffered before the cut is kept.
func TestWriterStalledDiskCuts(t *testing.T) {
	bf := &blockingFile{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	cfg := WriterConfig{OpenFile: func(p string) (File, error) {
		f, err := openFile(p)
		bf.File = f
		return bf, err
	}}
	clk := &fakeClock{now: epoch}
	w := startWriter(t, t.TempDir(), cfg, clk)
	call := synthCall{packets: 3000, codec: Ulaw}
	pkts, want := call.build()
	fed := make(chan int)
	go func() {
		n := 0
		for _, p := range pkts {
			clk.Set(p.arrival)
			w.Write(p.leg, p.ts, p.seq, p.arrival, p.payload)
			n++
		}
		fed <- n
	}()
	select {
	case n := <-fed:
		if n != len(pkts) {
			t.Fatalf("fed %d", n)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Write blocked while the disk stalled")
	}
	close(bf.release)
	r, err := w.Close(context.Background(), call.endTime())
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusCut || !errors.Is(r.Reason, ErrBufferFull) {
		t.Fatalf("status %s reason %v, want cut by a full buffer", r.Status, r.Reason)
	}
	if r.Packets+r.Dropped != uint64(len(pkts)) || r.Dropped == 0 {
		t.Fatalf("accepted %d and dropped %d of %d packets", r.Packets, r.Dropped, len(pkts))
	}
	if r.PeakBuffer > r.BufferBytes || r.PeakBuffer < r.BufferBytes/2 {
		t.Fatalf("peak buffer %d of %d", r.PeakBuffer, r.BufferBytes)
	}
	_, got := readWAV(t, r.Path)
	if len(got) == 0 || len(got) >= len(want) {
		t.Fatalf("cut recording holds %d bytes of %d", len(got), len(want))
	}
	// What is there is the start of the call, intact; the tail may end in silence where a packet of
	// the other leg was still to come when the cut happened.
	n := len(got) - 2*int(sampleRate*DefaultReorderWindow/time.Second) - 320
	if n > 0 && !bytes.Equal(got[:n], want[:n]) {
		t.Fatalf("kept audio differs: %s", firstDiff(got[:n], want[:n]))
	}
}

// TestWriterStallThenBurst: the caller's packets stop for 200 ms and then arrive in a burst (a
// network stall) while the agent's keep coming: every packet must still be placed.
func TestWriterStallThenBurst(t *testing.T) {
	call := synthCall{packets: 300, agentLag: 5 * time.Millisecond, codec: Ulaw}
	pkts, want := call.build()
	burstAt := epoch.Add(110 * 20 * time.Millisecond)
	for i, p := range pkts {
		if p.leg == Caller && p.arrival.After(epoch.Add(99*20*time.Millisecond)) && p.arrival.Before(burstAt) {
			pkts[i].arrival = burstAt
		}
	}
	sortByArrival(pkts)
	clk := &fakeClock{now: epoch}
	w := startWriter(t, t.TempDir(), WriterConfig{BufferBytes: 1 << 20}, clk)
	r := play(t, w, clk, pkts, call.endTime())
	if r.Late != 0 || r.Resyncs != 0 {
		t.Fatalf("late %d resyncs %d, want none", r.Late, r.Resyncs)
	}
	_, got := readWAV(t, r.Path)
	if !bytes.Equal(got, want) {
		t.Fatalf("audio differs: %s", firstDiff(got, want))
	}
}

// TestWriterConcurrentLegs: each leg's receive loop calls Write from its own goroutine, in real
// time (run with -race). Each leg's audio must be whole and in order.
func TestWriterConcurrentLegs(t *testing.T) {
	w := startWriter(t, t.TempDir(), WriterConfig{}, realClock{})
	const packets = 50
	done := make(chan struct{})
	for leg := Caller; leg <= Agent; leg++ {
		go func() {
			defer func() { done <- struct{}{} }()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			payload := make([]byte, 160)
			for i := 0; i < packets; i++ {
				<-tick.C
				for k := range payload {
					payload[k] = audioByte(leg, i, k)
				}
				w.Write(leg, uint32(7000+i*160), uint16(i), time.Now(), payload)
			}
		}()
	}
	<-done
	<-done
	r, err := w.Close(context.Background(), time.Time{})
	if err != nil || r.Status != StatusComplete || r.Packets != 2*packets {
		t.Fatalf("%v %+v", err, r)
	}
	_, got := readWAV(t, r.Path)
	for leg := 0; leg < 2; leg++ {
		var g, want []byte
		for i := leg; i < len(got); i += 2 {
			if got[i] != Ulaw.Silence() {
				g = append(g, got[i])
			}
		}
		for i := 0; i < packets; i++ {
			for k := 0; k < 160; k++ {
				want = append(want, audioByte(Leg(leg), i, k))
			}
		}
		if !bytes.Equal(g, want) {
			t.Fatalf("leg %d audio differs (late %d, resyncs %d)", leg, r.Late, r.Resyncs)
		}
	}
}

// TestWriterCloseTimeout: a Close that gives up on a stalled disk returns the context's error; the
// writer finishes once the disk answers, and a later Close returns its result.
func TestWriterCloseTimeout(t *testing.T) {
	bf := &blockingFile{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	cfg := WriterConfig{OpenFile: func(p string) (File, error) {
		f, err := openFile(p)
		bf.File = f
		return bf, err
	}}
	clk := &fakeClock{now: epoch}
	w := startWriter(t, t.TempDir(), cfg, clk)
	call := synthCall{packets: 50, codec: Ulaw}
	pkts, want := call.build()
	for _, p := range pkts {
		w.Write(p.leg, p.ts, p.seq, p.arrival, p.payload)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := w.Close(ctx, call.endTime()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close on a stalled disk: %v", err)
	}
	close(bf.release)
	<-w.Done()
	r, err := w.Close(context.Background(), time.Time{})
	if err != nil || r.Status != StatusComplete {
		t.Fatalf("%+v %v", r, err)
	}
	if _, got := readWAV(t, r.Path); !bytes.Equal(got, want) {
		t.Fatalf("audio differs: %s", firstDiff(got, want))
	}
}
