package appliance

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
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
			agent := e.agent("alice", 1500*time.Millisecond)
			agentRTP := newSender(t, agentIP)
			agent.MediaAddr = agentRTP.addr()
			ph := e.caller("+19175550060")
			callerRTP := newSender(t, callerIP)
			ph.MediaAddr = callerRTP.addr()
			c, err := e.dial(ph, "+12125550101")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { defer close(done); callerRTP.send(c.Remote.Addr, 1, 125, nil, nil) }()
			in, err := agent.WaitIncoming(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			agentRTP.send(in.Remote.Addr, 2, 25, nil, nil)
			<-done
			hangup(c)
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
