package pbx

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/siptest"
)

// TestMain doubles as the appliance of BenchmarkBridgedCalls: run with RINGSIDE_APPLIANCE=<agents>
// (under taskset, so the appliance has a core of its own), the test binary serves a bare
// pbx.Server until its stdin closes, instead of running the tests.
func TestMain(m *testing.M) {
	if v := os.Getenv("RINGSIDE_APPLIANCE"); v != "" {
		os.Exit(applianceHelper(v))
	}
	os.Exit(m.Run())
}

func applianceHelper(agents string) int {
	n, err := strconv.Atoi(agents)
	if err != nil {
		fmt.Fprintln(os.Stderr, "RINGSIDE_APPLIANCE:", err)
		return 2
	}
	cfg := benchConfig(15160, n)
	s, err := New(cfg, router{queue: "main"}, newRecorder(), slog.New(slog.DiscardHandler), wallClock{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Ready()
	fmt.Println("READY", cfg.Listeners[0].Addr)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	cancel()
	<-done
	return 0
}

// BenchmarkBridgedCalls sets up RINGSIDE_CALLS (default 1000) bridged calls through an appliance
// process pinned to CPU 0, then sends 20 ms G.711 both ways for RINGSIDE_SECONDS (default 10) from
// this process and counts what arrives. Run it pinned to the other core:
//
//	taskset -c 1 go test ./telephony/pbx -run XXX -bench BridgedCalls -benchtime 1x
func BenchmarkBridgedCalls(b *testing.B) {
	siptest.NeedTool(b, "taskset")
	calls := envInt("RINGSIDE_CALLS", 1000)
	secs := envInt("RINGSIDE_SECONDS", 10)
	cmd := exec.Command("taskset", "-c", "0", os.Args[0])
	cmd.Env = append(os.Environ(), "RINGSIDE_APPLIANCE="+strconv.Itoa(calls))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY") {
		b.Fatalf("appliance: %q %v", line, err)
	}
	addr := strings.Fields(line)[1]

	var cpu0, cpu time.Duration
	res := siptest.BridgedLoad(b, addr, "5550100", calls, secs, func(started bool) {
		if started {
			b.ResetTimer()
			cpu0 = siptest.ProcCPU(cmd.Process.Pid)
			return
		}
		cpu = siptest.ProcCPU(cmd.Process.Pid) - cpu0
		b.StopTimer()
	})
	res.Report(b, calls, cpu)
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}
