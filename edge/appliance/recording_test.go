package appliance

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/telephony/siptest"
)

// payload is the deterministic G.711 frame number i of a stream (160 bytes, no two alike, never
// the silence code), so a recording can be checked byte for byte.
func payload(stream, i int) []byte {
	b := make([]byte, 160)
	for j := range b {
		b[j] = byte(i*31+j*7+stream*101+i>>8) | 0x01 // never 0xFF (mu-law silence)
		if b[j] == 0xFF {
			b[j] = 0xFD
		}
	}
	return b
}

// rtpSender sends a numbered stream from its own socket, and keeps the payloads sent back to it.
type rtpSender struct {
	conn *net.UDPConn
	ssrc uint32

	mu    sync.Mutex
	heard []byte // payloads received, in arrival order
}

// received returns the audio the appliance sent to this socket so far.
func (s *rtpSender) received() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.heard)
}

func newSender(t *testing.T, ip netip.Addr) *rtpSender {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &rtpSender{conn: c, ssrc: rand.Uint32()}
	go func() { // keep what the appliance sends back
		buf := make([]byte, 1500)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) == nil {
				s.mu.Lock()
				s.heard = append(s.heard, p.Payload...)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *rtpSender) addr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// send paces n 20 ms PCMU packets of stream to dst. drop(i) says which to leave out (loss), and
// a packet i with swap(i) goes out after packet i+1 (reordering).
func (s *rtpSender) send(dst netip.AddrPort, stream, n int, drop, swap func(int) bool) {
	start := time.Now()
	var held []byte
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(1000 + i),
			Timestamp: uint32(5000 + 160*i), SSRC: s.ssrc, Marker: i == 0}, Payload: payload(stream, i)}
		b, _ := pkt.Marshal()
		if drop != nil && drop(i) {
			continue
		}
		if swap != nil && swap(i) && held == nil {
			held = b
			continue
		}
		s.conn.WriteToUDPAddrPort(b, dst)
		if held != nil {
			s.conn.WriteToUDPAddrPort(held, dst)
			held = nil
		}
	}
}

// readWAV returns the two channels of a stereo 8-bit G.711 WAV.
func readWAV(t *testing.T, path string) (left, right []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s is not a WAVE file", path)
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8 : min(off+8+size, len(b))]
		switch id {
		case "fmt ":
			if tag, ch := binary.LittleEndian.Uint16(body), binary.LittleEndian.Uint16(body[2:]); tag != 7 || ch != 2 {
				t.Fatalf("format tag %d with %d channels, want mu-law (7) stereo", tag, ch)
			}
		case "data":
			for i := 0; i+1 < len(body); i += 2 {
				left, right = append(left, body[i]), append(right, body[i+1])
			}
			return left, right
		}
		off += 8 + size + size%2
	}
	t.Fatal("no data chunk")
	return nil, nil
}

// recordedCall runs one recorded call: the caller sends 3 s of numbered audio from its answer, the
// agent 2 s from its connect, each through the given loss and reordering.
func recordedCall(t *testing.T, e *e2e, caller string, drop, swap func(int) bool) (call.Record, time.Time) {
	t.Helper()
	agent := e.agent("alice", 300*time.Millisecond)
	agentRTP := newSender(t, agentIP)
	agent.MediaAddr = agentRTP.addr()
	ph := e.caller(caller)
	callerRTP := newSender(t, callerIP)
	ph.MediaAddr = callerRTP.addr()
	c, err := e.dial(ph, "+12125550101")
	if err != nil {
		t.Fatal(err)
	}
	// Let the relay start reading first: a packet waiting in its socket would be timed on read.
	time.Sleep(200 * time.Millisecond)
	sendStart := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		callerRTP.send(c.Remote.Addr, 1, 150, drop, swap)
	}()
	in, err := agent.WaitIncoming(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A phone's media starts once the call is set up: the relay takes media only from the address
	// the agent's answer names, and learns it when it reads that answer.
	time.Sleep(200 * time.Millisecond)
	agentRTP.send(in.Remote.Addr, 2, 100, drop, swap)
	<-done
	time.Sleep(100 * time.Millisecond)
	hangup(c)
	return e.record(caller), sendStart
}

// recordingConfig records the queue too, so the recordings of these tests start at the caller's
// first packet (the timeline checks follow the caller's stream from the answer).
const recordingConfig = `
recording: {enabled: true, include_queue: true}
`

func TestRecordingMatchesTheAudioSent(t *testing.T) {
	e := startApplianceWith(t, recordingConfig)
	r, sendStart := recordedCall(t, e, "+19175550030", nil, nil)
	if r.Outcome != call.Connected || r.RecordingStatus != RecordingComplete || r.Recording == "" {
		t.Fatalf("record: outcome %s, recording %q (%s %s)", r.Outcome, r.Recording, r.RecordingStatus, r.RecordingReason)
	}
	path := filepath.Join(e.a.media.root, r.Recording)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("recording file: %v, %v", st, err)
	}
	left, right := readWAV(t, path)
	var wantL, wantR []byte
	for i := range 150 {
		wantL = append(wantL, payload(1, i)...)
	}
	for i := range 100 {
		wantR = append(wantR, payload(2, i)...)
	}
	// The caller's channel starts with the caller's audio; the agent's holds silence until the agent
	// spoke, then the agent's audio, sample for sample.
	if !bytes.HasPrefix(left, wantL) {
		t.Errorf("caller channel differs from the audio sent (first %d bytes)", len(wantL))
	}
	at := bytes.Index(right, wantR[:160])
	if at < 0 || !bytes.Equal(right[at:min(at+len(wantR), len(right))], wantR) {
		t.Errorf("agent channel does not hold the agent's audio (found at %d)", at)
	}
	for _, b := range right[:max(at, 0)] {
		if b != 0xFF {
			t.Fatalf("agent channel before the agent spoke is not silence: %#x", b)
		}
	}
	// The file lasts as long as the call's media: from the first packet to the end.
	got := time.Duration(len(left)) * time.Second / 8000
	want := r.Ended.Sub(sendStart)
	if d := got - want; d < -20*time.Millisecond || d > 20*time.Millisecond {
		t.Errorf("recording lasts %v, call media %v", got, want)
	}
	if q := r.CallerQuality; q.Packets != 150 || q.Lost != 0 || q.MOS < 4 {
		t.Errorf("caller leg quality %+v", q)
	}
	if q := r.AgentQuality; q.Packets != 100 || q.Lost != 0 {
		t.Errorf("agent leg quality %+v", q)
	}
}

func TestRecordingWithLossStaysAligned(t *testing.T) {
	e := startApplianceWith(t, recordingConfig)
	clean, _ := recordedCall(t, e, "+19175550031", nil, nil)
	lost := map[int]bool{}
	for i := 5; i < 150; i += 20 { // 5% loss, never the first packet
		lost[i] = true
	}
	drop := func(i int) bool { return lost[i] }
	swap := func(i int) bool { return i%25 == 12 } // some reordering
	r, _ := recordedCall(t, e, "+19175550032", drop, swap)
	left, _ := readWAV(t, filepath.Join(e.a.media.root, r.Recording))
	for i := range 150 {
		frame := left[i*160 : (i+1)*160]
		if lost[i] {
			if !bytes.Equal(frame, bytes.Repeat([]byte{0xFF}, 160)) {
				t.Fatalf("frame %d was lost but is not silence", i)
			}
		} else if !bytes.Equal(frame, payload(1, i)) {
			t.Fatalf("frame %d is not where its timestamp puts it", i)
		}
	}
	q := r.CallerQuality
	if q.LossPct < 4 || q.LossPct > 6 || q.Reordered == 0 {
		t.Errorf("caller leg: loss %.1f%% (want about 5%%), reordered %d", q.LossPct, q.Reordered)
	}
	if q.MOS >= clean.CallerQuality.MOS {
		t.Errorf("MOS with loss %.2f is not below the clean call's %.2f", q.MOS, clean.CallerQuality.MOS)
	}
}

// TestDiskFullCutsTheRecordingNotTheCall fills the recordings' file system mid-call (a 48 KiB
// tmpfs mounted over the recordings folder, about 3 s of stereo G.711): the call goes on and ends
// normally, and its record says the recording was cut because the disk was full.
func TestDiskFullCutsTheRecordingNotTheCall(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "state", "recordings")
	if err := os.MkdirAll(rec, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48k,mode=0700", "tmpfs", rec).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs (needs root): %v %s", err, out)
		}
		t.Skipf("mount tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", rec).Run() })
	e := startApplianceIn(t, filepath.Join(dir, "state"), recordingConfig)
	agent := e.agent("alice", 200*time.Millisecond)
	agentRTP := newSender(t, agentIP)
	agent.MediaAddr = agentRTP.addr()
	ph := e.caller("+19175550040")
	callerRTP := newSender(t, callerIP)
	ph.MediaAddr = callerRTP.addr()
	c, err := e.dial(ph, "+12125550101")
	if err != nil {
		t.Fatal(err)
	}
	callerRTP.send(c.Remote.Addr, 1, 300, nil, nil) // 6 s: twice what the disk holds
	time.Sleep(100 * time.Millisecond)              // the last packets reach the relay before the BYE
	hangup(c)
	r := e.record("+19175550040")
	if r.Outcome != call.Connected || r.Reason != "caller hung up" {
		t.Errorf("the call did not end normally: %s (%s)", r.Outcome, r.Reason)
	}
	if r.RecordingStatus != RecordingCut || r.RecordingReason != "disk full" {
		t.Errorf("recording %q: %s (%s), want cut (disk full)", r.Recording, r.RecordingStatus, r.RecordingReason)
	}
	if q := r.CallerQuality; q.Packets != 300 {
		t.Errorf("caller leg counted %d packets, want 300: the media path lost audio", q.Packets)
	}
}

// sippStreams is the audio of one sipp call: what the caller and the agent stream.
type sippStreams struct{ caller, agent []byte }

// newSippStreams numbers 150 caller frames and 100 agent frames of streams a and b.
func newSippStreams(a, b int) sippStreams {
	var s sippStreams
	for i := range 150 {
		s.caller = append(s.caller, payload(a, i)...)
	}
	for i := range 100 {
		s.agent = append(s.agent, payload(b, i)...)
	}
	return s
}

// sippStreamingCall runs one recorded call between a sipp caller and a sipp agent (answering as
// alice), each streaming its audio with rtp_stream; the caller sends its SIP to via (the appliance,
// or a hop in front of it). It returns the call's record.
func sippStreamingCall(t *testing.T, e *e2e, caller string, via netip.AddrPort, audio sippStreams) call.Record {
	t.Helper()
	dir := t.TempDir()
	callerFile, agentFile := filepath.Join(dir, "caller.raw"), filepath.Join(dir, "agent.raw")
	if err := os.WriteFile(callerFile, audio.caller, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(agentFile, audio.agent, 0o644); err != nil {
		t.Fatal(err)
	}
	agentPort := e.sippAgentPort("alice") // the sipp agent answers as alice
	agentSc := siptest.Scenario(t, "testdata/sipp/agent_stream.xml", dir, map[string]string{"ANSWER_MS": "800", "FILE": agentFile})
	agent := siptest.StartSipp(t, dir, 60*time.Second, "-sf", agentSc, "-i", agentIP.String(), "-p", strconv.Itoa(agentPort),
		"-mp", strconv.Itoa(sippMediaPort(t)), "-m", "1", "-nostdin", "-timeout", "40s", "-timeout_error")
	callerSc := siptest.Scenario(t, "testdata/sipp/caller_stream.xml", dir, map[string]string{"CALLER": caller, "FILE": callerFile, "STAY_MS": "4000"})
	sipp := siptest.StartSipp(t, dir, 60*time.Second, via.String(), "-sf", callerSc, "-i", callerIP.String(),
		"-p", strconv.Itoa(freePort(t)), "-mp", strconv.Itoa(sippMediaPort(t)), "-m", "1", "-s", "+12125550101",
		"-nostdin", "-timeout", "40s", "-timeout_error")
	if err, out := sipp.Wait(); err != nil {
		t.Fatalf("sipp caller: %v\n%s", err, out)
	}
	if err, out := agent.Wait(); err != nil {
		t.Fatalf("sipp agent: %v\n%s", err, out)
	}
	r := e.record(caller)
	if r.Outcome != call.Connected || r.RecordingStatus != RecordingComplete {
		t.Fatalf("record: %s, recording %s (%s)", r.Outcome, r.RecordingStatus, r.RecordingReason)
	}
	return r
}

// TestSippStreamsRecordedSampleForSample: sipp as the caller and sipp as the agent each stream a
// known G.711 file (rtp_stream); the recording's channels hold both files byte for byte.
func TestSippStreamsRecordedSampleForSample(t *testing.T) {
	e := startApplianceWith(t, recordingConfig)
	audio := newSippStreams(3, 4)
	r := sippStreamingCall(t, e, "+19175550050", e.sip, audio)
	left, right := readWAV(t, filepath.Join(e.a.media.root, r.Recording))
	if !bytes.Contains(left, audio.caller) {
		t.Errorf("the caller's channel does not hold sipp's stream byte for byte")
	}
	if !bytes.Contains(right, audio.agent) {
		t.Errorf("the agent's channel does not hold sipp's stream byte for byte")
	}
	if q := r.CallerQuality; q.Packets < 150 || q.Lost != 0 {
		t.Errorf("caller leg %+v", q)
	}
}

// TestSippThroughALossyHop puts a bad network between the sipp caller and the appliance: a hop
// (siptest.LossyHop) that drops one packet in twenty of sipp's stream and swaps some neighbours.
// The caller's channel keeps its timeline (silence exactly where the hop dropped, every other frame
// where its timestamp puts it), the record shows about 5% loss and the reordering, and the MOS is
// below that of the same call made straight to the appliance.
func TestSippThroughALossyHop(t *testing.T) {
	e := startApplianceWith(t, recordingConfig)
	clean := sippStreamingCall(t, e, "+19175550051", e.sip, newSippStreams(5, 6))

	drop := func(i int) bool { return i%20 == 5 }  // 5%, never the first packet
	swap := func(i int) bool { return i%25 == 12 } // sent after its successor
	hop := siptest.NewLossyHop(t, callerIP.String(), e.sip, drop, swap)
	audio := newSippStreams(7, 8)
	r := sippStreamingCall(t, e, "+19175550052", hop.SIP, audio)

	dropped := hop.Dropped()
	if len(dropped) < 7 || len(hop.Forwarded())+len(dropped) < 150 {
		t.Fatalf("the hop dropped %d and forwarded %d of sipp's packets, want 150 through it", len(dropped), len(hop.Forwarded()))
	}
	left, _ := readWAV(t, filepath.Join(e.a.media.root, r.Recording))
	start := bytes.Index(left, audio.caller[:160])
	if start < 0 {
		t.Fatal("the caller's first frame is not in the recording")
	}
	silence := bytes.Repeat([]byte{0xFF}, 160)
	for i := range 150 {
		at := start + i*160
		if at+160 > len(left) {
			t.Fatalf("the recording ends at frame %d of 150", i)
		}
		frame, want := left[at:at+160], payload(7, i)
		if drop(i) {
			want = silence
		}
		if !bytes.Equal(frame, want) {
			t.Fatalf("frame %d (dropped by the hop: %v) is not what belongs at its place on the timeline", i, drop(i))
		}
	}
	q := r.CallerQuality
	if q.LossPct < 4 || q.LossPct > 6.5 || q.Reordered == 0 {
		t.Errorf("caller leg: loss %.1f%% (want about 5%%), reordered %d", q.LossPct, q.Reordered)
	}
	if q.MOS >= clean.CallerQuality.MOS {
		t.Errorf("MOS through the lossy hop %.2f is not below the clean call's %.2f", q.MOS, clean.CallerQuality.MOS)
	}
	t.Logf("through the hop: %d of %d dropped, loss %.1f%%, reordered %d, MOS %.2f (clean %.2f)",
		len(dropped), len(dropped)+len(hop.Forwarded()), q.LossPct, q.Reordered, q.MOS, clean.CallerQuality.MOS)
}
