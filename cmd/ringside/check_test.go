package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/telephony/siptest"
)

// TestCheckConfigReportsWhatRunRefuses enumerates the kinds of thing `run` refuses beyond the
// config's own validation: for each, `check-config` must fail naming file, line and key, and `run`
// must refuse the same config, with the same problem, before it creates its state directory.
func TestCheckConfigReportsWhatRunRefuses(t *testing.T) {
	sox := siptest.NeedTool(t, "sox")
	// Free ports everywhere, so that a run that was not refused binds nothing others use.
	base := strings.NewReplacer(`"udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"`, `"udp:127.0.0.1:0", "tcp:127.0.0.1:0"`,
		"listen: 127.0.0.1:8080", "listen: 127.0.0.1:0").Replace(exampleConfig(t))
	cases := []struct {
		name     string
		edits    [][2]string // changes to the example config: from, to
		at       string      // the start of the line the problem must be on
		key, msg string
		files    map[string]string // fixture files beside the config: name -> kind (writeFixture)
		skip     string            // why the case does not apply to this build, if it does not
	}{
		{name: "hold music in the wrong format", edits: [][2]string{{"    strategy: ring_all\n", "    strategy: ring_all\n    hold_music: music.wav\n"}},
			at: "    hold_music:", key: "queues[0].hold_music", msg: "want mono 8000 Hz", files: map[string]string{"music.wav": "44k-stereo"}},
		{name: "announcement that is no WAV", edits: [][2]string{{"    strategy: ring_all\n", "    strategy: ring_all\n    announcement: recorded.wav\n"}},
			at: "    announcement:", key: "queues[0].announcement", msg: "not RIFF/WAVE", files: map[string]string{"recorded.wav": "text"}},
		{name: "site announcement in the wrong format", edits: [][2]string{{"  include_queue: false\n  retention_days: 90\n", "  include_queue: false\n  announcement: recorded.wav\n  retention_days: 90\n"}},
			at: "  announcement:", key: "recording.announcement", msg: "want mono 8000 Hz", files: map[string]string{"recorded.wav": "44k-stereo"}},
		{name: "web listen port out of range", edits: [][2]string{{"  listen: 127.0.0.1:0\n", "  listen: 127.0.0.1:80800\n"}},
			at: "  listen: 127.0.0.1:80800", key: "web.listen", msg: "invalid port"},
		{name: "tls listener with a certificate that is not one", edits: [][2]string{{`"tcp:127.0.0.1:0"]` + "\n",
			`"tcp:127.0.0.1:0", "tls:127.0.0.1:0"]` + "\n  tls_cert: cert.pem\n  tls_key: key.pem\n"}},
			at: "  tls_cert:", key: "sip.tls_cert", msg: "certificate", files: map[string]string{"cert.pem": "text", "key.pem": "text"}},
		{name: "analog line on a build that cannot drive it", edits: [][2]string{{"lines:\n", "lines:\n" + analogLine("ring_pin: GPIO5, hook_pin: GPIO6")}},
			at: "  - {id: fxo1", key: "lines[0].fxo", msg: "cgo", skip: fxoSkip()},
		{name: "analog line without a udp listener", edits: [][2]string{{`"udp:127.0.0.1:0", "tcp:127.0.0.1:0"]`, `"tcp:127.0.0.1:0"]`},
			{"lines:\n", "lines:\n" + analogLine("simulated: true")}},
			at: "  listen: [", key: "sip.listen", msg: "over UDP"},
		{name: "uplink the publisher refuses", edits: [][2]string{{"  enabled: false\n  broker: tcp://127.0.0.1:1883\n", "  enabled: true\n  in_flight: 70000\n  broker: tcp://127.0.0.1:1883\n"}},
			at: "uplink:", key: "uplink", msg: "in_flight"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			src := base
			for _, e := range c.edits {
				if strings.Count(src, e[0]) != 1 {
					t.Fatalf("%q is not in the example config exactly once", e[0])
				}
				src = strings.Replace(src, e[0], e[1], 1)
			}
			line := -1
			for i, l := range strings.Split(src, "\n") {
				if strings.HasPrefix(l, c.at) {
					line = i
					break
				}
			}
			if line < 0 {
				t.Fatalf("no line starts with %q", c.at)
			}
			path := writeConfig(t, src)
			for name, kind := range c.files {
				writeFixture(t, sox, filepath.Join(filepath.Dir(path), name), kind)
			}
			want := path + lineRef(line, c.key+": ")

			out, err := exec.Command(binary, "check-config", path).CombinedOutput()
			if exitCode(err) != 1 || !strings.Contains(string(out), want) || !strings.Contains(string(out), c.msg) {
				t.Fatalf("check-config: exit %d, want 1 and a line starting %q that mentions %q:\n%s", exitCode(err), want, c.msg, out)
			}

			out, err = runWithTimeout(exec.Command(binary, "run", "--config", path), 20*time.Second)
			if exitCode(err) != 1 || !strings.Contains(string(out), "refusing to start") || !strings.Contains(string(out), lineRef(line, c.key+": ")) {
				t.Fatalf("run: exit %d (%v), want 1 refusing to start with the problem at %q:\n%s", exitCode(err), err, want, out)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), "state")); err == nil {
				t.Error("run created its state directory before refusing the config")
			}
		})
	}
}

// analogLine is an analog line for the example config, on the tracking number its first line uses.
func analogLine(fxo string) string {
	return "  - {id: fxo1, kind: fxo, tracking_number: \"+1 212 555 0100\", fxo: {" + fxo + "}}\n"
}

// fxoSkip says why the refusal of analog lines cannot be seen from this build, if it cannot.
func fxoSkip() string {
	if hw.FXOSupported() == nil {
		return "this build drives analog lines; CGO_ENABLED=0 runs of this test cover the refusal"
	}
	return ""
}

// writeFixture writes a file of a kind: "text" (not a WAV, not a PEM) or "44k-stereo", a real
// WAV in a format telephony cannot play (sox).
func writeFixture(t *testing.T, sox, path, kind string) {
	t.Helper()
	switch kind {
	case "text":
		if err := os.WriteFile(path, []byte("not what the key wants\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	case "44k-stereo":
		if out, err := exec.Command(sox, "-n", "-r", "44100", "-c", "2", "-b", "16", path, "synth", "0.2", "sine", "440").CombinedOutput(); err != nil {
			t.Fatalf("sox: %v\n%s", err, out)
		}
	default:
		t.Fatalf("unknown fixture kind %q", kind)
	}
}
