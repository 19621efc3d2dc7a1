package appliance

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/telephony/siptest"
)

// benchConfigYAML is the whole appliance for the load benchmarks: one trunk (the generator on
// 127.0.0.4), one queue with an agent per call, recording on or off.
func benchConfigYAML(calls int, record bool, dir string, port int) string {
	var agents, members strings.Builder
	for i := range calls {
		fmt.Fprintf(&agents, "  - {id: b%d, username: b%d, password: sip-secret-b%d}\n", i, i, i)
		fmt.Fprintf(&members, "      - {agent: b%d}\n", i)
	}
	return fmt.Sprintf(`
site: {name: Bench, time_zone: UTC, region: US}
state_dir: %s
sip: {listen: ["udp:127.0.0.1:%d"], rtp_port_min: 12000, rtp_port_max: 19998, max_calls: 5000,
      rate_limit: 1000000, ban_after: 1000000, media_timeout: 2m}
lines: [{id: load, kind: sip_trunk, addresses: ["127.0.0.4/32"], max_calls: 5000}]
tracking_numbers: [{number: "+1 212 555 0101", source: direct, queue: desk}]
queues:
  - name: desk
    strategy: round_robin
    max_callers: 5000
    max_wait: 10m
    ring_timeout: 1m
    members:
%s
agents:
%s
recording: {enabled: %v, include_queue: true, quota_mb: 4096, low_disk_mb: 1}
web: {listen: "127.0.0.1:0"}
leds: {simulated: true}
`, dir, port, members.String(), agents.String(), record)
}

// TestMain doubles as the appliance of the load benchmarks (and of the full-disk kill test): run with
// RINGSIDE_BENCH_APPLIANCE=<calls> (under taskset, so the whole appliance — SIP, queue, relay,
// tracker, store, recorder — has one core of its own), the test binary serves it until its stdin
// closes, then stops the way SIGINT does, instead of running the tests.
func TestMain(m *testing.M) {
	if v := os.Getenv("RINGSIDE_BENCH_APPLIANCE"); v != "" {
		os.Exit(applianceHelper(v))
	}
	if dir := os.Getenv(diskFullChildEnv); dir != "" {
		os.Exit(diskFullChild(dir))
	}
	os.Exit(m.Run())
}

func applianceHelper(callsEnv string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "bench appliance:", err); return 1 }
	calls, err := strconv.Atoi(callsEnv)
	if err != nil {
		return fail(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	body := benchConfigYAML(calls, os.Getenv("RINGSIDE_BENCH_RECORD") == "1", os.Getenv("RINGSIDE_BENCH_DIR"), port)
	cfg, err := config.Parse([]byte(body), "bench.yaml", os.TempDir())
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := New(context.Background(), cfg, log, SystemClock, "test")
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	<-a.Ready()
	if path := os.Getenv("RINGSIDE_BENCH_CPUPROFILE"); path != "" {
		// Profile the measured window only: SIGUSR1 starts, SIGUSR2 stops.
		f, err := os.Create(path)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		sig := make(chan os.Signal, 2)
		signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
		defer signal.Stop(sig)
		stopped := make(chan struct{})
		defer func() { <-stopped }()
		go func() {
			defer close(stopped)
			if <-sig != syscall.SIGUSR1 || pprof.StartCPUProfile(f) != nil {
				return
			}
			<-sig
			pprof.StopCPUProfile()
		}()
	}
	fmt.Printf("READY 127.0.0.1:%d\n", port)
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	if err := <-done; err != nil {
		return fail(err)
	}
	fmt.Fprintln(os.Stderr, "bench appliance:", &a.media.totals)
	return 0
}

// BenchmarkRecordedCalls: RINGSIDE_CALLS (default 1000) calls bridged through the whole appliance
// pinned to CPU 0, every one recorded, with 20 ms G.711 both ways for RINGSIDE_SECONDS (default
// 10). Reports the relay's loss, the appliance's CPU, and the recordings: how many were cut, and
// how much audio they hold against what was sent. RINGSIDE_BENCH_CPUPROFILE=<file> writes the
// appliance's CPU profile of the streaming window. Run it on the other core:
//
//	taskset -c 1 go test ./edge/appliance -run '^$' -bench 'RecordedCalls|RelayedCalls' -benchtime 1x
func BenchmarkRecordedCalls(b *testing.B) { benchLoad(b, true) }

// BenchmarkRelayedCalls is the same load without recording: the baseline of the CPU ratio.
func BenchmarkRelayedCalls(b *testing.B) { benchLoad(b, false) }

func benchLoad(b *testing.B, record bool) {
	siptest.NeedTool(b, "taskset")
	calls, secs := envInt("RINGSIDE_CALLS", 1000), envInt("RINGSIDE_SECONDS", 10)
	dir := b.TempDir()
	cmd := exec.Command("taskset", "-c", "0", os.Args[0])
	rec := "0"
	if record {
		rec = "1"
	}
	cmd.Env = append(os.Environ(), "RINGSIDE_BENCH_APPLIANCE="+strconv.Itoa(calls), "RINGSIDE_BENCH_RECORD="+rec, "RINGSIDE_BENCH_DIR="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY") {
		b.Fatalf("appliance: %q %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "READY"))
	var cpu0, cpu time.Duration
	res := siptest.BridgedLoad(b, addr, "+12125550101", calls, secs, func(started bool) {
		profiling := os.Getenv("RINGSIDE_BENCH_CPUPROFILE") != ""
		if started {
			settle(cmd.Process.Pid)
			b.ResetTimer()
			cpu0 = siptest.ProcCPU(cmd.Process.Pid)
			if profiling {
				_ = cmd.Process.Signal(syscall.SIGUSR1)
			}
			return
		}
		cpu = siptest.ProcCPU(cmd.Process.Pid) - cpu0
		if profiling {
			_ = cmd.Process.Signal(syscall.SIGUSR2)
		}
		b.StopTimer()
	})
	res.Report(b, calls, cpu)
	stdin.Close() // the appliance ends the calls, closes the recordings and stops
	if err := cmd.Wait(); err != nil {
		b.Fatalf("appliance: %v", err)
	}
	if !record {
		return
	}
	cfg, err := config.Parse([]byte(benchConfigYAML(calls, true, dir, 5060)), "bench.yaml", dir)
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), SystemClock, "test")
	if err != nil {
		b.Fatal(err)
	}
	defer a.Store.Close()
	var complete, cut, files int
	var recorded time.Duration
	var audio int64 // bytes of the generator's audio (0x00; silence is 0xFF) in both channels
	for r, err := range a.Store.CallsArrived(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)) {
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case r.RecordingStatus == RecordingComplete:
			complete++
		case r.RecordingStatus != "":
			cut++
		}
		if r.Outcome != call.Connected || r.Recording == "" {
			continue
		}
		body, err := os.ReadFile(filepath.Join(a.media.root, r.Recording))
		at := bytes.Index(body, []byte("data"))
		if err != nil || at < 0 || at+8 > len(body) {
			continue
		}
		samples := body[at+8:]
		files++
		recorded += time.Duration(len(samples)) * time.Second / 16000 // stereo 8 kHz, 1 byte a sample
		audio += int64(bytes.Count(samples, []byte{0}))
	}
	b.ReportMetric(float64(cut), "recordings-cut")
	b.ReportMetric(float64(complete), "recordings-complete")
	// Each recording spans the call's media, which is longer than the streamed seconds (set-up and
	// tear-down pad it with silence).
	b.ReportMetric(recorded.Seconds()/float64(max(files, 1)), "recorded-s/call")
	// Audio lost end to end: every packet the generator sent carries 160 bytes of 0x00, so the
	// recordings together should hold sent*160 of them.
	want := res.Sent * 160
	b.ReportMetric(100*float64(want-audio)/float64(want), "recorded-audio-lost-%")
}

// settle waits (at most 30 s) until the appliance has finished the work of setting the calls up —
// the tracker commits every step of a thousand calls and the status follows them — so the
// benchmark measures calls in progress, not the tail of a burst of a thousand call set-ups.
func settle(pid int) {
	prev := siptest.ProcCPU(pid)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		cur := siptest.ProcCPU(pid)
		if cur-prev < 100*time.Millisecond { // under a fifth of the core
			return
		}
		prev = cur
	}
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}
