package web

import (
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/telephony/siptest"
)

// TestRecorderFiles plays a mu-law WAV (as the recorder writes, made by sox) through the
// recorder's PCM reader, with a range request.
func TestRecorderFiles(t *testing.T) {
	sox := siptest.NeedTool(t, "sox")
	root := t.TempDir()
	out, err := exec.Command(sox, "-n", "-r", "8000", "-c", "2", "-e", "mu-law", "-b", "8", filepath.Join(root, "a.wav"),
		"synth", "2", "sine", "440", "vol", "0.3").CombinedOutput()
	if err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	recs := RecorderFiles(root)
	f, _, err := recs.Open(call.Record{Recording: "a.wav"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, f)
	f.Close()
	// 2 s x 8000 frames x 2 channels x 2 bytes of PCM, plus the header.
	if err != nil || n < 2*8000*2*2 {
		t.Fatalf("PCM: %d bytes, %v", n, err)
	}
	if _, _, err := recs.Open(call.Record{Recording: "../../etc/passwd"}); err == nil {
		t.Error("a path outside the root opened")
	}
	h := newHarness(t, harnessOpts{})
	h.srv.recs = recs
	id := h.post(testCall{at: time.Now().Add(-time.Hour), number: "+12125550101", caller: "+12125550111", outcome: call.Connected,
		wait: time.Second, talk: 2 * time.Second, agent: "alice", recording: "a.wav"})
	h.sync()
	c := h.login()
	code, body := c.do(t, "GET", "/api/v1/calls/"+id+"/recording", "", map[string]string{"Range": "bytes=0-43"})
	if code != http.StatusPartialContent || len(body) != 44 || body[:4] != "RIFF" || body[8:12] != "WAVE" {
		t.Errorf("range of the header: %d, %d bytes %q", code, len(body), body[:min(12, len(body))])
	}
	code, body = c.do(t, "GET", "/api/v1/calls/"+id+"/recording?download=1", "", nil)
	if code != 200 || int64(len(body)) != n {
		t.Errorf("download: %d, %d bytes, want %d", code, len(body), n)
	}
}

// TestRecordingServedUnderItsRealName: a record that names a recording by its in-progress name
// after the file was finished (a slow close), or by its final name while it is still being
// finished, gets the audio, never "gone".
func TestRecordingServedUnderItsRealName(t *testing.T) {
	sox := siptest.NeedTool(t, "sox")
	root := t.TempDir()
	for _, name := range []string{"done.wav", "closing.wav.part"} {
		out, err := exec.Command(sox, "-n", "-r", "8000", "-c", "2", "-e", "mu-law", "-b", "8", "-t", "wav",
			filepath.Join(root, name), "synth", "1", "sine", "440", "vol", "0.3").CombinedOutput()
		if err != nil {
			t.Fatalf("sox: %v: %s", err, out)
		}
	}
	h := newHarness(t, harnessOpts{})
	h.srv.recs = RecorderFiles(root)
	c := h.login()
	for i, named := range []string{"done.wav.part", "closing.wav"} {
		id := h.post(testCall{at: time.Now().Add(-time.Hour), number: "+12125550101", caller: "+1212555012" + string(rune('0'+i)),
			outcome: call.Connected, wait: time.Second, talk: 2 * time.Second, agent: "alice", recording: named})
		h.sync()
		code, body := c.do(t, "GET", "/api/v1/calls/"+id+"/recording", "", nil)
		if code != http.StatusOK || len(body) < 8000*2*2 {
			t.Errorf("record naming %s: %d, %d bytes: %.80s", named, code, len(body), body)
		}
	}
}
