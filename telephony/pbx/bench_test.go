package pbx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/acd"
	"github.com/ringside/ringside/telephony/siptest"
)

// benchConfig is a server with n agents b0..b(n-1) in one round-robin queue and room for many calls.
func benchConfig(port, n int) Config {
	cfg := testConfig(port)
	cfg.Agents = nil
	cfg.Queues[0].Members = nil
	cfg.Queues[0].Strategy = acd.RoundRobin
	for i := range n {
		id := fmt.Sprintf("b%d", i)
		cfg.Agents = append(cfg.Agents, AgentAccount{ID: id, Username: id, Password: "pw-" + id})
		cfg.Queues[0].Members = append(cfg.Queues[0].Members, acd.Member{Agent: id})
	}
	cfg.MaxCalls = 5000
	cfg.RTPPortMin, cfg.RTPPortMax = 12000, 19999
	cfg.RateLimit, cfg.RateBurst = 1e6, 1e6
	return cfg
}

func startQuiet(b testing.TB, cfg Config) *testEnv {
	rec := newRecorder()
	s, err := New(cfg, router{queue: "main"}, rec, slog.New(slog.NewTextHandler(io.Discard, nil)), wallClock{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	env := &testEnv{srv: s, rec: rec, addr: cfg.Listeners[0].Addr, cancel: cancel, done: make(chan error, 1)}
	go func() { env.done <- s.Run(ctx) }()
	<-s.Ready()
	b.Cleanup(func() { cancel(); <-env.done })
	return env
}

var sippStat = regexp.MustCompile(`(Successful call|Failed call)\s+\|\s+\d+\s+\|\s+(\d+)`)

// BenchmarkCallSetupSipp: sipp places calls at a fixed rate; each is queued, rings an agent (a
// sipp UAS standing in for 800 registered phones) which answers at once, is bridged; the caller
// hangs up 1 s after the answer. Reports the offered rate, successful and failed calls and setup time.
//
//	go test ./telephony/pbx -run XXX -bench CallSetupSipp -benchtime 1x
func BenchmarkCallSetupSipp(b *testing.B) {
	const agents, rate, total = 800, 500, 5000
	env := startQuiet(b, benchConfig(15150, agents))
	t := &testing.T{}
	_ = t
	dir := b.TempDir()
	sc := siptest.Scenario(b, "testdata/sipp/agent.xml", dir, map[string]string{"ANSWER_MS": "1"})
	uas := siptest.StartSipp(b, dir, 120*time.Second, "-sf", sc, "-i", "127.0.0.3", "-p", "16150", "-mp", strconv.Itoa(mp(16150)),
		"-nostdin", "-timeout", "100s", "-m", strconv.Itoa(total))
	ph := siptest.NewPhone(b, "127.0.0.3", "b0", "")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range agents {
		ph.User, ph.Pass = fmt.Sprintf("b%d", i), fmt.Sprintf("pw-b%d", i)
		if code, err := ph.RegisterFor(ctx, env.addr, netip.MustParseAddrPort("127.0.0.3:16150"), 3600); err != nil || code != 200 {
			b.Fatal(code, err)
		}
	}
	caller, _ := filepath.Abs("testdata/sipp/caller.xml")
	b.ResetTimer()
	start := time.Now()
	uac := siptest.StartSipp(b, b.TempDir(), 120*time.Second, env.addr, "-sf", caller, "-i", "127.0.0.4", "-p", "17150",
		"-mp", strconv.Itoa(mp(17150)), "-r", strconv.Itoa(rate), "-m", strconv.Itoa(total), "-l", "2000", "-d", "1000",
		"-nostdin", "-timeout", "100s")
	err, out := uac.Wait()
	el := time.Since(start)
	b.StopTimer()
	uas.Stop()
	ok, failed := 0, 0
	for _, m := range sippStat.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "Successful call" {
			ok = n
		} else {
			failed = n
		}
	}
	time.Sleep(time.Second) // let the last BYEs land
	connected := 0
	outcomes := map[string]int{}
	var waitSum time.Duration
	for _, e := range env.rec.all() {
		if e.Kind == CallEnded || e.Kind == CallRefused {
			outcomes[string(e.Outcome)+"/"+e.Reason]++
		}
		if e.Kind == CallEnded && e.Outcome == Connected {
			connected++
			waitSum += e.Wait
		}
	}
	b.Logf("outcomes: %v", outcomes)
	if connected > 0 {
		b.ReportMetric(float64((waitSum/time.Duration(connected)).Microseconds())/1000, "mean-ms-to-connect")
	}
	if err != nil {
		b.Logf("sipp: %v\n%s", err, tail(out, 2500))
	}
	b.ReportMetric(float64(rate), "offered-calls/s")
	b.ReportMetric(float64(ok)/el.Seconds(), "completed-calls/s")
	b.ReportMetric(float64(ok), "sipp-ok")
	b.ReportMetric(float64(failed), "sipp-failed")
	b.ReportMetric(float64(connected), "connected-records")
}
