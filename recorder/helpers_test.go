package recorder

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock shared by a test and the writers it drives.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

var epoch = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

// needTool returns the path of an external tool; it fails the test in CI and skips elsewhere when
// the tool is missing.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (see .ci/install): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// packet is one synthetic RTP payload on its way to the writer.
type packet struct {
	leg     Leg
	ts      uint32
	seq     uint16
	arrival time.Time
	payload []byte
}

// audioByte is the known content of sample k of packet i of a leg; it avoids the silence codes so a
// misplaced packet cannot pass for silence.
func audioByte(leg Leg, i, k int) byte {
	b := byte(i*31 + k*7 + int(leg)*101)
	if b == 0xFF || b == 0xD5 {
		b = 0x42
	}
	return b
}

// synthCall describes a generated call and builds both what is sent and what the file must hold.
type synthCall struct {
	packets   int           // per leg, 20 ms each
	agentLag  time.Duration // agent leg starts this much after the caller (a multiple of 125 us)
	lossEvery int           // drop every n-th packet after the first (0: none)
	lateEvery int           // delay every n-th packet by lateBy (0: none)
	lateBy    time.Duration
	codec     Codec
}

// build returns the packets in arrival order and the expected interleaved frames.
func (s synthCall) build() ([]packet, []byte) {
	const spp = 160
	lagFrames := int(s.agentLag / (time.Second / sampleRate))
	total := s.packets*spp + lagFrames
	want := make([]byte, total*2)
	for i := range want {
		want[i] = s.codec.Silence()
	}
	var out []packet
	bases := [2]uint32{0xFFFFF000, 12345} // the caller's timestamps wrap during the call
	seqs := [2]uint16{65500, 7}
	for leg := Caller; leg <= Agent; leg++ {
		start := 0
		if leg == Agent {
			start = lagFrames
		}
		for i := 0; i < s.packets; i++ {
			p := packet{leg: leg, ts: bases[leg] + uint32(i*spp), seq: seqs[leg] + uint16(i)}
			p.arrival = epoch.Add(time.Duration(start)*(time.Second/sampleRate) + time.Duration(i)*20*time.Millisecond)
			p.payload = make([]byte, spp)
			for k := range p.payload {
				p.payload[k] = audioByte(leg, i, k)
			}
			if i > 0 && s.lossEvery > 0 && (i+int(leg)*3)%s.lossEvery == 0 {
				continue // lost: silence stays in want
			}
			if i > 0 && s.lateEvery > 0 && (i+int(leg))%s.lateEvery == 0 {
				p.arrival = p.arrival.Add(s.lateBy)
			}
			for k, b := range p.payload {
				want[(start+i*spp+k)*2+int(leg)] = b
			}
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].arrival.Before(out[j].arrival) })
	return out, want
}

// endTime is when the synthetic call ends: the end of the agent's last packet.
func (s synthCall) endTime() time.Time {
	return epoch.Add(s.agentLag + time.Duration(s.packets)*20*time.Millisecond)
}

// play feeds packets to w, moving the clock to each arrival, and closes the recording at end.
func play(t testing.TB, w *Writer, clk *fakeClock, pkts []packet, end time.Time) Result {
	t.Helper()
	for _, p := range pkts {
		clk.Set(p.arrival)
		w.Write(p.leg, p.ts, p.seq, p.arrival, p.payload)
	}
	clk.Set(end)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := w.Close(ctx, end)
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	return r
}

// readWAV returns the header info and the audio bytes of a recording.
func readWAV(t testing.TB, path string) (wavInfo, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := parseHeader(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if info.DataOffset+info.DataSize != int64(len(b)) {
		t.Fatalf("%s: header says %d data bytes at %d, file has %d bytes", path, info.DataSize, info.DataOffset, len(b))
	}
	if info.FactOffset >= 0 {
		if n := binary.LittleEndian.Uint32(b[info.FactOffset:]); int64(n)*int64(info.Channels) != info.DataSize {
			t.Fatalf("fact says %d samples per channel, data holds %d bytes", n, info.DataSize)
		}
	}
	if riff := binary.LittleEndian.Uint32(b[4:]); int64(riff) != int64(len(b))-8 {
		t.Fatalf("RIFF size %d, file %d", riff, len(b))
	}
	return info, b[info.DataOffset:]
}

// firstDiff explains where two frame buffers differ.
func firstDiff(got, want []byte) string {
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			return "frame " + itoa(i/2) + " channel " + itoa(i%2) + ": got " + itoa(int(got[i])) + " want " + itoa(int(want[i]))
		}
	}
	return "lengths " + itoa(len(got)) + " vs " + itoa(len(want))
}

func itoa(i int) string { return strconv.Itoa(i) }
