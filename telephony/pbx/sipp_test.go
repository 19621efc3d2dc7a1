package pbx

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/acd"
	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/siptest"
)

const validSDP = "      v=0\n      o=user1 1 1 IN IP4 [local_ip]\n      s=-\n      c=IN IP4 [local_ip]\n      t=0 0\n      m=audio [media_port] RTP/AVP 0\n      a=rtpmap:0 PCMU/8000\n"

// sippAgent starts a sipp UAS as agent id at ip:port answering after answer, and registers it.
func sippAgent(t *testing.T, env *testEnv, id, ip string, port, mport int, answer time.Duration, calls int) *siptest.Sipp {
	t.Helper()
	return sippPhone(t, env, id, ip, port, mport, "testdata/sipp/agent.xml", map[string]string{"ANSWER_MS": strconv.Itoa(int(answer.Milliseconds()))}, calls)
}

// sippPhone starts a sipp UAS running scenario (a template filled with vars) as agent id at
// ip:port, and registers it; with id "", it only starts it.
func sippPhone(t *testing.T, env *testEnv, id, ip string, port, mport int, scenario string, vars map[string]string, calls int) *siptest.Sipp {
	t.Helper()
	dir := t.TempDir()
	sc := siptest.Scenario(t, scenario, dir, vars)
	sp := siptest.StartSipp(t, dir, 60*time.Second, "-sf", sc, "-i", ip, "-p", strconv.Itoa(port), "-mp", strconv.Itoa(mport),
		"-m", strconv.Itoa(calls), "-nostdin", "-timeout", "50s", "-timeout_error", "-trace_msg")
	if id != "" {
		registerFor(t, env, id, netip.MustParseAddrPort(fmt.Sprintf("%s:%d", ip, port)))
	}
	return sp
}

func registerFor(t *testing.T, env *testEnv, id string, contact netip.AddrPort) {
	t.Helper()
	ph := siptest.NewPhone(t, contact.Addr().String(), id, "pw-"+id)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code, err := ph.RegisterFor(ctx, env.addr, contact, 300); err != nil || code != 200 {
		t.Fatalf("register %s: %d %v", id, code, err)
	}
}

// sippCaller places one call from ip that stays talk after answer.
func sippCaller(t *testing.T, env *testEnv, ip string, port, mport int, talk time.Duration) *siptest.Sipp {
	t.Helper()
	dir := t.TempDir()
	sc, _ := filepath.Abs("testdata/sipp/caller.xml")
	return siptest.StartSipp(t, dir, 60*time.Second, env.addr, "-sf", sc, "-i", ip, "-p", strconv.Itoa(port), "-mp", strconv.Itoa(mport),
		"-m", "1", "-s", "5550100", "-d", strconv.Itoa(int(talk.Milliseconds())), "-nostdin", "-timeout", "50s", "-timeout_error")
}

// sippRefused places one call that expects code; sdp replaces the offer.
func sippRefused(t *testing.T, env *testEnv, ip string, port int, code int, sdp string) *siptest.Sipp {
	mport := mp(port)
	t.Helper()
	dir := t.TempDir()
	sc := siptest.Scenario(t, "testdata/sipp/caller_refused.xml", dir, map[string]string{"CODE": strconv.Itoa(code), "SDP": sdp})
	return siptest.StartSipp(t, dir, 30*time.Second, env.addr, "-sf", sc, "-i", ip, "-p", strconv.Itoa(port), "-mp", strconv.Itoa(mport),
		"-m", "1", "-s", "5550100", "-nostdin", "-timeout", "20s", "-timeout_error")
}

func mustPass(t *testing.T, name string, sp *siptest.Sipp) {
	t.Helper()
	if err, out := sp.Wait(); err != nil {
		t.Errorf("sipp %s: %v\n%s", name, err, tail(out, 3000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// mp gives each sipp process its own media ports: sipp binds the -mp port and the three above it
// (RTCP, video), so ports are spaced by 10, derived from the process's unique SIP port.
func mp(sipPort int) int { return 30000 + (sipPort-15000)*10 }

func near(d, want, tol time.Duration) bool { return d >= want-tol && d <= want+tol }

func TestSippAgentAnswersAfter3s(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15111))
	agent := sippAgent(t, env, "a1", "127.0.0.3", 16111, mp(16111), 3*time.Second, 1)
	caller := sippCaller(t, env, "127.0.0.4", 17111, mp(17111), 5*time.Second)
	mustPass(t, "caller", caller)
	mustPass(t, "agent", agent)
	e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]
	if e.Outcome != Connected || e.Agent != "a1" {
		t.Fatalf("ended %+v%s", e, env.rec.dump())
	}
	if !near(e.Wait, 3*time.Second, 200*time.Millisecond) {
		t.Errorf("wait %v, want 3s ± 0.2s", e.Wait)
	}
	// The caller hangs up 5 s after its ACK, which came right after arrival: talk = 5 s - wait.
	if !near(e.Talk, 5*time.Second-e.Wait, 300*time.Millisecond) {
		t.Errorf("talk %v, want %v", e.Talk, 5*time.Second-e.Wait)
	}
	kinds := ""
	_, by := env.rec.calls()
	for _, ev := range by[e.CallID] {
		kinds += string(ev.Kind) + " "
	}
	if kinds != "arrived answered queued ringing connected ended " {
		t.Errorf("event sequence %q", kinds)
	}
	env.rec.checkOneTerminal(t)
}

func TestSippCallerAbandonsAfter4s(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15112))
	agent := sippAgent(t, env, "a1", "127.0.0.3", 16112, mp(16112), 30*time.Second, 1)
	caller := sippCaller(t, env, "127.0.0.4", 17112, mp(17112), 4*time.Second)
	mustPass(t, "caller", caller)
	mustPass(t, "agent (cancelled)", agent)
	e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]
	if e.Outcome != Abandoned {
		t.Fatalf("ended %+v%s", e, env.rec.dump())
	}
	if !near(e.Wait, 4*time.Second, 200*time.Millisecond) {
		t.Errorf("wait %v, want 4s ± 0.2s", e.Wait)
	}
	env.rec.checkOneTerminal(t)
}

func TestSippRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		port    int
		setup   func(*Config)
		agent   bool
		code    int
		outcome Outcome
		sdp     string
	}{
		{"no agent", 15113, func(*Config) {}, false, 480, NoAgent, validSDP},
		{"closed", 15114, func(c *Config) { c.Queues[0].Open = func(time.Time) bool { return false } }, true, 480, Closed, validSDP},
		{"broken SDP", 15115, func(*Config) {}, true, 488, Failed, "      v=0\n      o=x\n      m=audio nope\n"},
		{"no G.711", 15116, func(*Config) {}, true, 488, Failed, strings.ReplaceAll(strings.ReplaceAll(validSDP, "RTP/AVP 0", "RTP/AVP 18"), "0 PCMU", "18 G729")},
		{"busy code", 15117, func(c *Config) { c.MaxCalls = 1; c.BusyCode = 503 }, true, 503, Busy, validSDP},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(tc.port)
			tc.setup(&cfg)
			env := start(t, cfg)
			if tc.agent {
				registerFor(t, env, "a1", netip.MustParseAddrPort(fmt.Sprintf("127.0.0.3:%d", tc.port+1000)))
			}
			n := 1
			if tc.outcome == Busy {
				// Fill the only slot with a caller who waits (the agent never answers: no sipp there).
				first := sippCaller(t, env, "127.0.0.5", tc.port+2100, mp(tc.port+2100), 3*time.Second)
				env.rec.waitKind(t, CallQueued, "", 5*time.Second)
				defer mustPass(t, "first caller", first)
				n = 2
			}
			sp := sippRefused(t, env, "127.0.0.4", tc.port+2000, tc.code, tc.sdp)
			mustPass(t, "caller", sp)
			term := env.rec.waitTerminal(t, n, 10*time.Second)
			var e Event
			for _, x := range term {
				if x.Kind == CallRefused {
					e = x
				}
			}
			if e.Outcome != tc.outcome || e.Code != tc.code {
				t.Fatalf("refused %+v%s", e, env.rec.dump())
			}
			env.rec.checkOneTerminal(t)
		})
	}
}

func TestSippQueueFull(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15118)
	cfg.Queues[0].MaxCallers = 1
	env := start(t, cfg)
	registerFor(t, env, "a1", netip.MustParseAddrPort("127.0.0.3:16118")) // registered, never answers
	first := sippCaller(t, env, "127.0.0.5", 17118, mp(17118), 2*time.Second)
	env.rec.waitKind(t, CallQueued, "", 5*time.Second)
	second := sippRefused(t, env, "127.0.0.4", 17218, 486, validSDP)
	mustPass(t, "second caller", second)
	mustPass(t, "first caller", first)
	term := env.rec.waitTerminal(t, 2, 10*time.Second)
	outs := map[Outcome]int{}
	for _, e := range term {
		outs[e.Outcome]++
	}
	if outs[Busy] != 1 || outs[Abandoned] != 1 {
		t.Fatalf("outcomes %v%s", outs, env.rec.dump())
	}
	env.rec.checkOneTerminal(t)
}

func TestSippMaxWaitOverflowToURI(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15119)
	cfg.Queues[0].MaxWait = time.Second
	cfg.Queues[0].OverflowURI = "sip:overflow@127.0.0.8:16219"
	env := start(t, cfg)
	never := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	never.AnswerAfter = -1
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code, err := never.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	over := sippAgent(t, env, "", "127.0.0.8", 16219, mp(16219), 300*time.Millisecond, 1)
	caller := sippCaller(t, env, "127.0.0.4", 17119, mp(17119), 3*time.Second)
	mustPass(t, "caller", caller)
	mustPass(t, "overflow target", over)
	e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]
	if e.Outcome != Timeout || e.Overflow != cfg.Queues[0].OverflowURI {
		t.Fatalf("ended %+v%s", e, env.rec.dump())
	}
	ov := env.rec.waitKind(t, CallOverflow, "", time.Second)
	if !near(ov.Mono, time.Second, 200*time.Millisecond) {
		t.Errorf("overflow after %v, want 1s", ov.Mono)
	}
	if e.Talk <= 0 {
		t.Errorf("overflow leg never connected: %+v", e)
	}
	env.rec.checkOneTerminal(t)
}

func TestSippRingAllRace(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		port := 15120 + round
		env := start(t, testConfig(port))
		// a1 and a2 answer at the same moment; a3 would answer later and must be cancelled.
		a1 := sippAgent(t, env, "a1", "127.0.0.3", 16120+round*10, mp(16120+round*10), time.Second, 1)
		a2 := sippAgent(t, env, "a2", "127.0.0.2", 16121+round*10, mp(16121+round*10), time.Second, 1)
		a3 := sippAgent(t, env, "a3", "127.0.0.9", 16122+round*10, mp(16122+round*10), 5*time.Second, 1)
		caller := sippCaller(t, env, "127.0.0.4", 17120+round, mp(17120+round), 3*time.Second)
		mustPass(t, "caller", caller)
		mustPass(t, "a3", a3)
		// When our CANCEL crosses the loser's 200, sipp aborts its scenario ("unexpected CANCEL":
		// it cannot express that race); any other failure counts. TestRingAllSimultaneousAnswer
		// checks the loser's dialog is ACKed and BYEd with phones that handle the race.
		for name, sp := range map[string]*siptest.Sipp{"a1": a1, "a2": a2} {
			if err, out := sp.Wait(); err != nil && !strings.Contains(out, "unexpected CANCEL") {
				t.Errorf("sipp %s: %v\n%s", name, err, tail(out, 3000))
			}
		}
		e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]
		connected := 0
		for _, x := range env.rec.all() {
			if x.Kind == CallConnected {
				connected++
			}
		}
		if e.Outcome != Connected || connected != 1 || (e.Agent != "a1" && e.Agent != "a2") {
			t.Fatalf("round %d: ended %+v, %d connected%s", round, e, connected, env.rec.dump())
		}
		// No leg left dangling: every sipp agent finished its scenario (BYE or CANCEL), and no
		// agent is still ringing or on a call once wrap-up is over.
		deadline := time.Now().Add(3 * time.Second)
		for {
			busy := 0
			agents, _, _ := env.srv.engine.Snapshot()
			for _, a := range agents {
				if a.State == acd.Ringing || a.State == acd.OnCall {
					busy++
				}
			}
			if busy == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: agents still busy: %+v", round, agents)
			}
			time.Sleep(20 * time.Millisecond)
		}
		env.rec.checkOneTerminal(t)
		waitNoDialogs(t, env.srv)
	}
}

// waitNoDialogs checks that no caller or agent dialog is left once calls ended. A dialog whose
// peer has gone (sipp aborts on a CANCEL that crossed its 200) is held until its BYE times out.
func waitNoDialogs(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(teardownTimeout + 2*time.Second)
	for {
		s.mu.Lock()
		n, m := len(s.agentDialogs), len(s.callerDialogs)
		s.mu.Unlock()
		if n == 0 && m == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d agent and %d caller dialogs left", n, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSippAbandonEndsWhenCallerHangsUp: the caller hangs up 4 s into the call while an agent's
// phone (sipp) rings and never answers our CANCEL, so the call is torn down only when the
// cancelled leg gives up, cancelGrace later. The end event, whose At and Mono become the record's
// end and wait, is the moment the caller's BYE arrived. The server's clock is the test's.
func TestSippAbandonEndsWhenCallerHangsUp(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	env := startWithClock(t, testConfig(15125), clk)
	agent := sippPhone(t, env, "a1", "127.0.0.3", 16125, mp(16125), "testdata/sipp/agent_deaf_cancel.xml",
		map[string]string{"SILENT_MS": "3000"}, 1)
	caller := siptest.NewPhone(t, "127.0.0.4", "caller", "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatal(err)
	}
	arrived := env.rec.waitKind(t, CallArrived, "", 5*time.Second).At
	for { // the phone rings: our CANCEL will wait for its 487
		if _, ok := agent.Sent("SIP/2.0 180"); ok {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the agent's phone never rang")
		case <-time.After(20 * time.Millisecond):
		}
	}
	clk.add(4 * time.Second)
	if err := oc.DC.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	clk.add(cancelGrace) // the time teardown takes: the cancelled leg waits for a 487 that never comes
	e := env.rec.waitTerminal(t, 1, 10*time.Second)[0]
	if e.Outcome != Abandoned {
		t.Fatalf("ended %+v%s", e, env.rec.dump())
	}
	if e.Mono != 4*time.Second || e.Wait != 4*time.Second || !e.At.Equal(arrived.Add(4*time.Second)) {
		t.Errorf("ended at %v (mono %v, wait %v), want when the caller hung up: 4s after arrival", e.At.Sub(arrived), e.Mono, e.Wait)
	}
	mustPass(t, "agent (deaf to CANCEL)", agent)
	env.rec.checkOneTerminal(t)
}

// TestSippMaxWaitEndsWhenReached: the queue's maximum wait releases the caller, whose phone never
// answers our BYE (we wait teardownTimeout for it). The call ended when the maximum was reached.
func TestSippMaxWaitEndsWhenReached(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15126)
	cfg.Queues[0].MaxWait = time.Second
	env := start(t, cfg)
	registerFor(t, env, "a1", netip.MustParseAddrPort("127.0.0.3:16126")) // registered, never answers
	dir := t.TempDir()
	sc := siptest.Scenario(t, "testdata/sipp/caller_deaf_bye.xml", dir, map[string]string{"SILENT_MS": "7000"})
	caller := siptest.StartSipp(t, dir, 60*time.Second, env.addr, "-sf", sc, "-i", "127.0.0.4", "-p", "17126", "-mp", strconv.Itoa(mp(17126)),
		"-m", "1", "-s", "5550100", "-nostdin", "-timeout", "50s", "-timeout_error")
	e := env.rec.waitTerminal(t, 1, 15*time.Second)[0]
	if e.Outcome != Timeout {
		t.Fatalf("ended %+v%s", e, env.rec.dump())
	}
	if !near(e.Mono, time.Second, 200*time.Millisecond) || e.Wait != e.Mono {
		t.Errorf("ended at %v (wait %v), want when the maximum wait was reached: 1s ± 0.2s", e.Mono, e.Wait)
	}
	mustPass(t, "caller (deaf to BYE)", caller)
	env.rec.checkOneTerminal(t)
}

// TestSippAgentHangupEndsWhenAgentHangsUp: the agent hangs up 3 s into the conversation and the
// caller (sipp) never answers our BYE, which we wait teardownTimeout for. The talk time ends with
// the agent's BYE. The server's clock is the test's.
func TestSippAgentHangupEndsWhenAgentHangsUp(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	env := startWithClock(t, testConfig(15127), clk)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	agent := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	if code, err := agent.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatalf("register: %d %v", code, err)
	}
	dir := t.TempDir()
	sc := siptest.Scenario(t, "testdata/sipp/caller_deaf_bye.xml", dir, map[string]string{"SILENT_MS": "7000"})
	caller := siptest.StartSipp(t, dir, 60*time.Second, env.addr, "-sf", sc, "-i", "127.0.0.4", "-p", "17127", "-mp", strconv.Itoa(mp(17127)),
		"-m", "1", "-s", "5550100", "-nostdin", "-timeout", "50s", "-timeout_error")
	ic, err := agent.WaitIncoming(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	connected := env.rec.waitKind(t, CallConnected, "a1", 5*time.Second)
	clk.add(3 * time.Second)
	if err := ic.DS.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	clk.add(teardownTimeout) // the time our BYE to the caller takes: it is never answered
	e := env.rec.waitTerminal(t, 1, 15*time.Second)[0]
	if e.Outcome != Connected || e.Reason != "agent hung up" {
		t.Fatalf("ended %+v%s", e, env.rec.dump())
	}
	if e.Talk != 3*time.Second || e.Mono != connected.Mono+3*time.Second || e.Wait != connected.Wait {
		t.Errorf("talk %v, ended at %v (connected at %v, wait %v), want 3s of talk ending with the agent's BYE",
			e.Talk, e.Mono, connected.Mono, e.Wait)
	}
	mustPass(t, "caller (deaf to BYE)", caller)
	env.rec.checkOneTerminal(t)
}
