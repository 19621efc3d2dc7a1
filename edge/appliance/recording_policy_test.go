package appliance

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/web"
	"github.com/ringside/ringside/recorder"
	"github.com/ringside/ringside/telephony/dsp/dsptest"
	"github.com/ringside/ringside/telephony/g711"
)

// announcementAudio is a half-second "this call may be recorded" clip whose mu-law bytes are
// distinctive (payload stream 9), so the caller's received audio shows whether it was played.
func announcementAudio(t *testing.T) (path string, ulaw []byte) {
	t.Helper()
	for i := range 25 {
		for _, b := range payload(9, i) {
			if b == 0x7F { // 0x7F and 0xFF both decode to zero: keep the bytes one-to-one with samples
				b = 0x7D
			}
			ulaw = append(ulaw, b)
		}
	}
	samples := make([]int16, len(ulaw))
	for i, b := range ulaw {
		samples[i] = g711.UlawToLinear(b)
	}
	path = filepath.Join(t.TempDir(), "announcement.wav")
	dsptest.WriteWAV(t, path, samples)
	return path, ulaw
}

// withRecordFlags is e2eConfig with record set on tracking number +1 212 555 0101 and its queue
// desk.
func withRecordFlags(number, queue string) string {
	cfg := strings.Replace(e2eConfig, `campaign: spring, queue: desk}`, `campaign: spring, queue: desk, record: `+number+`}`, 1)
	return strings.Replace(cfg, `ring_timeout: 30s, wrap_up: 1s, max_wait: 60s}`, `ring_timeout: 30s, wrap_up: 1s, max_wait: 60s, record: `+queue+`}`, 1)
}

// talkedCall places a call from caller to +1 212 555 0101 that alice answers after answerAfter:
// the caller streams callerPackets 20 ms packets from the start (through the wait), alice
// agentPackets once she answers; it hangs up once alice has heard the caller's last packet (the
// relay taps a packet before it forwards it, so the recorder has it too). It returns the caller's
// RTP socket, with what the caller heard.
func talkedCall(t *testing.T, e *e2e, caller string, answerAfter time.Duration, callerPackets, agentPackets int) *rtpSender {
	t.Helper()
	agent := e.agent("alice", answerAfter)
	agentRTP := newSender(t, agentIP)
	agent.MediaAddr = agentRTP.addr()
	ph := e.caller(caller)
	callerRTP := newSender(t, callerIP)
	ph.MediaAddr = callerRTP.addr()
	c, err := e.dial(ph, "+12125550101")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); callerRTP.send(c.Remote.Addr, 1, callerPackets, nil, nil) }()
	in, err := agent.WaitIncoming(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	agentRTP.send(in.Remote.Addr, 2, agentPackets, nil, nil)
	<-done
	last := payload(1, callerPackets-1)
	for deadline := time.Now().Add(5 * time.Second); !bytes.Contains(agentRTP.received(), last); {
		if time.Now().After(deadline) {
			t.Fatal("the agent never heard the caller's last packet")
		}
		time.Sleep(10 * time.Millisecond)
	}
	hangup(c)
	return callerRTP
}

// TestAnnouncementIffRecorded: the caller hears "this call may be recorded" exactly when the call
// is recorded, whichever of the number and its queue says so (the number wins).
func TestAnnouncementIffRecorded(t *testing.T) {
	for _, tc := range []struct {
		name          string
		number, queue string
		recorded      bool
	}{
		{"queue records, number does not", "false", "true", false},
		{"number records, queue does not", "true", "false", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wav, clip := announcementAudio(t)
			e := startApplianceFrom(t, withRecordFlags(tc.number, tc.queue), t.TempDir(), "",
				"recording: {announcement: '"+wav+"'}\n")
			callerRTP := talkedCall(t, e, "+19175550060", 1500*time.Millisecond, 125, 25)
			r := e.record("+19175550060")
			if r.Outcome != call.Connected {
				t.Fatalf("outcome %s (%s)", r.Outcome, r.Reason)
			}
			announced := bytes.Contains(callerRTP.received(), clip[:480])
			recorded := r.Recording != "" && r.RecordingStatus == RecordingComplete
			if recorded {
				if _, err := os.Stat(filepath.Join(e.a.media.root, r.Recording)); err != nil {
					t.Errorf("the record names a recording that is not there: %v", err)
				}
			}
			if announced != tc.recorded || recorded != tc.recorded {
				t.Errorf("announcement played %v, recording made %v (%q %s); want both %v",
					announced, recorded, r.Recording, r.RecordingStatus, tc.recorded)
			}
		})
	}
}

// TestRecordingStartsAtConnect: by default a recording holds the conversation, not the wait: the
// caller's audio before an agent answered is not in the file, the record places the file at the
// connect, and a caller who hangs up in the queue leaves no recording at all.
func TestRecordingStartsAtConnect(t *testing.T) {
	e := startApplianceWith(t, "recording: {enabled: true}\n")
	talkedCall(t, e, "+19175550070", time.Second, 150, 50)
	r := e.record("+19175550070")
	if r.Outcome != call.Connected || r.RecordingStatus != RecordingComplete {
		t.Fatalf("record: %s, recording %q %s (%s)", r.Outcome, r.Recording, r.RecordingStatus, r.RecordingReason)
	}
	left, _ := readWAV(t, filepath.Join(e.a.media.root, r.Recording))
	if bytes.Contains(left, payload(1, 0)) {
		t.Error("the recording holds the caller's audio from the queue, before an agent answered")
	}
	if !bytes.Contains(left, payload(1, 149)) {
		t.Error("the recording misses the caller's audio of the conversation")
	}
	// The file is laid out by the packets' arrival stamps and RTP timestamps, the call's times by its
	// events: they differ by a packet or so (a packet stamped just before the connect event), and by
	// the sender's lag on a loaded machine; a second of queue would still stand out.
	const packets, ms = 400 * time.Millisecond, time.Millisecond
	if r.RecordingOffset < r.Wait-packets || r.RecordingDuration <= 0 || r.RecordingDuration > r.Talk+packets {
		t.Errorf("the record places the recording at %v for %v; the call connected at %v and talked %v",
			r.RecordingOffset, r.RecordingDuration, r.Wait, r.Talk)
	}
	if d := time.Duration(len(left))*time.Second/8000 - r.RecordingDuration; d < -ms || d > ms {
		t.Errorf("the file holds %v of audio, the record says %v", time.Duration(len(left))*time.Second/8000, r.RecordingDuration)
	}

	// Abandoned in the queue: nobody answers, the caller talks for a second and hangs up.
	bob := e.agent("bob", -1)
	bob.MediaAddr = mediaSink(t, agentIP)
	ph := e.caller("+19175550071")
	callerRTP := newSender(t, callerIP)
	ph.MediaAddr = callerRTP.addr()
	c, err := e.dial(ph, "+12125550104") // queue tiny: bob only
	if err != nil {
		t.Fatal(err)
	}
	callerRTP.send(c.Remote.Addr, 1, 50, nil, nil)
	hangup(c)
	r = e.record("+19175550071")
	if r.Outcome != call.Abandoned || r.Recording != "" || r.RecordingStatus != "" {
		t.Fatalf("abandoned call: %s, recording %q %s", r.Outcome, r.Recording, r.RecordingStatus)
	}
	var files []string
	filepath.WalkDir(e.a.media.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Errorf("recordings on disk after one connected and one abandoned call: %v", files)
	}
}

// stallingFile is a recording file on a disk whose fsync hangs until release is closed: the
// lowest layer of a slow disk.
type stallingFile struct {
	recorder.File
	release <-chan struct{}
}

func (f stallingFile) Sync() error {
	<-f.release
	return f.File.Sync()
}

// TestSlowCloseEndsComplete: a recording whose close overruns its bound is not cut. The record
// says closing and the audio is served meanwhile; once the disk lets the file finish, the record
// says complete, names the final WAV, and the API serves it.
func TestSlowCloseEndsComplete(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	e := startApplianceFrom(t, e2eConfig, t.TempDir(), "", recordingConfig, func(a *Appliance) {
		a.media.closeTimeout = 50 * time.Millisecond
		a.media.openFile = func(p string) (recorder.File, error) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, recorder.FileMode)
			if err != nil {
				return nil, err
			}
			return stallingFile{File: f, release: release}, nil
		}
	})
	files := web.RecorderFiles(e.a.media.root)
	serves := func(r call.Record) bool {
		f, _, err := files.Open(r)
		if err != nil {
			t.Logf("open %s: %v", r.Recording, err)
			return false
		}
		f.Close()
		return true
	}
	r, _ := recordedCall(t, e, "+19175550080", nil, nil)
	if r.RecordingStatus != RecordingClosing {
		t.Fatalf("while the disk stalls the close: recording %q %s (%s), want closing", r.Recording, r.RecordingStatus, r.RecordingReason)
	}
	if !serves(r) {
		t.Error("the audio is not served while the recording is closing")
	}
	unblock()
	deadline := time.Now().Add(10 * time.Second)
	for r.RecordingStatus == RecordingClosing && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		var err error
		if r, err = e.a.Store.Call(context.Background(), r.ID); err != nil {
			t.Fatal(err)
		}
	}
	if r.RecordingStatus != RecordingComplete || !strings.HasSuffix(r.Recording, ".wav") || r.RecordingDuration <= 0 {
		t.Fatalf("after the close: recording %q %s (%s), %v", r.Recording, r.RecordingStatus, r.RecordingReason, r.RecordingDuration)
	}
	if _, err := os.Stat(filepath.Join(e.a.media.root, r.Recording)); err != nil {
		t.Fatalf("the finished recording: %v", err)
	}
	if !serves(r) {
		t.Error("the finished recording is not served")
	}
}

// TestClosingSettledAtStart: the appliance stops while a slow close goes on, and the file is
// finished after it has gone; the next start finds the finished file and says complete, so the
// record never keeps saying "closing" about audio that is there.
func TestClosingSettledAtStart(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	state := t.TempDir()
	e := startApplianceFrom(t, e2eConfig, state, "", recordingConfig, func(a *Appliance) {
		a.media.closeTimeout = 50 * time.Millisecond
		a.media.openFile = func(p string) (recorder.File, error) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, recorder.FileMode)
			if err != nil {
				return nil, err
			}
			return stallingFile{File: f, release: release}, nil
		}
	})
	r, _ := recordedCall(t, e, "+19175550081", nil, nil)
	if r.RecordingStatus != RecordingClosing {
		t.Fatalf("while the disk stalls the close: recording %q %s (%s), want closing", r.Recording, r.RecordingStatus, r.RecordingReason)
	}
	e.stop()
	e.wg.Wait()
	unblock() // the disk comes back after the appliance has gone: the writer finishes the file
	final := filepath.Join(state, "recordings", r.Recording)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(final); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the writer never finished %s: %v", final, err)
		}
	}

	e = startApplianceIn(t, state, recordingConfig)
	got, err := e.a.Store.Call(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RecordingStatus != RecordingComplete || got.Recording != r.Recording || got.RecordingDuration <= 0 {
		t.Fatalf("after the restart: recording %q %s (%s), %v; want %q complete", got.Recording, got.RecordingStatus, got.RecordingReason, got.RecordingDuration, r.Recording)
	}
}
