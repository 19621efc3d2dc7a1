package pbx

import (
	"github.com/emiago/sipgo/sip"

	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/acd"

	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/siptest"
)

func TestGoPhonesConnectAndAudioIntegrity(t *testing.T) {
	env := start(t, testConfig(15101))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agent := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	agent.AnswerAfter = 300 * time.Millisecond
	if code, err := agent.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatalf("register: %d %v", code, err)
	}
	caller := siptest.NewPhone(t, "127.0.0.4", "caller", "")
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatal(err)
	}
	// hold music reaches the caller while queued
	time.Sleep(150 * time.Millisecond)
	if n := len(caller.RTP.Received()); n == 0 {
		t.Error("no hold music while queued")
	}
	ic, err := agent.WaitIncoming(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	env.rec.waitKind(t, CallConnected, "a1", 2*time.Second)
	// audio integrity: 500 packets caller -> agent, byte for byte and in order
	agent.RTP.Reset()
	const n = 500
	if err := caller.RTP.SendStream(oc.Remote.Addr, 0, 1234, n, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(agent.RTP.Received()) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := agent.RTP.Received()
	if len(got) != n {
		t.Fatalf("agent got %d of %d packets", len(got), n)
	}
	for i, p := range got {
		if p.SequenceNumber != uint16(i) || !bytes.Equal(p.Payload, siptest.Payload(i)) {
			t.Fatalf("packet %d: seq %d, payload equal %v", i, p.SequenceNumber, bytes.Equal(p.Payload, siptest.Payload(i)))
		}
	}
	_ = ic
	if err := oc.DC.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	term := env.rec.waitTerminal(t, 1, 5*time.Second)
	e := term[0]
	if e.Outcome != Connected || e.Agent != "a1" {
		t.Fatalf("ended %+v", e)
	}
	if e.Wait < 250*time.Millisecond || e.Wait > 800*time.Millisecond {
		t.Errorf("wait %v, want about 300ms", e.Wait)
	}
	env.rec.checkOneTerminal(t)
}

func TestRingAllSimultaneousAnswer(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15131))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var phones []*siptest.Phone
	for i, ip := range []string{"127.0.0.3", "127.0.0.2", "127.0.0.9"} {
		id := []string{"a1", "a2", "a3"}[i]
		p := siptest.NewPhone(t, ip, id, "pw-"+id)
		p.AnswerAfter = 500 * time.Millisecond // all three answer at the same moment
		if code, err := p.Register(ctx, env.addr, 300); err != nil || code != 200 {
			t.Fatal(code, err)
		}
		phones = append(phones, p)
	}
	caller := siptest.NewPhone(t, "127.0.0.4", "c", "")
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatal(err)
	}
	env.rec.waitKind(t, CallConnected, "", 5*time.Second)
	// Every phone that answered must see its dialog end (BYE) except the winner's.
	var answered []*siptest.InCall
	for _, p := range phones {
		if ic, err := p.WaitIncoming(2 * time.Second); err == nil {
			answered = append(answered, ic)
		}
	}
	if len(answered) == 0 {
		t.Fatal("nobody answered")
	}
	time.Sleep(500 * time.Millisecond)
	live := 0
	for _, ic := range answered {
		if ic.DS.Context().Err() == nil {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d of %d answered legs still up, want exactly 1", live, len(answered))
	}
	if err := oc.DC.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]
	if e.Outcome != Connected {
		t.Fatalf("ended %+v", e)
	}
	for _, ic := range answered {
		select {
		case <-ic.DS.Context().Done():
		case <-time.After(3 * time.Second):
			t.Fatal("winner's leg not hung up after caller BYE")
		}
	}
	env.rec.checkOneTerminal(t)
	waitNoDialogs(t, env.srv)
}

// agentAndCaller registers a Go agent phone a1 (answering after answer) and places a Go call.
func agentAndCaller(t *testing.T, env *testEnv, ctx context.Context, answer time.Duration) (*siptest.Phone, *siptest.InCall, *siptest.Phone, *siptest.OutCall) {
	t.Helper()
	agent := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	agent.AnswerAfter = answer
	if code, err := agent.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatalf("register: %d %v", code, err)
	}
	caller := siptest.NewPhone(t, "127.0.0.4", "caller", "")
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatal(err)
	}
	ic, err := agent.WaitIncoming(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	env.rec.waitKind(t, CallConnected, "a1", 2*time.Second)
	return agent, ic, caller, oc
}

func TestAgentHoldByReInvite(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15132))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	agent, ic, caller, oc := agentAndCaller(t, env, ctx, 100*time.Millisecond)
	dir, err := agent.Hold(ctx, ic, sdp.SendOnly)
	if err != nil {
		t.Fatal(err)
	}
	if dir != sdp.RecvOnly {
		t.Errorf("answer to sendonly was %s, want recvonly", dir)
	}
	env.rec.waitKind(t, CallHold, "a1", 2*time.Second)
	if snap := env.srv.Snapshot(); len(snap.Calls) != 1 || !snap.Calls[0].OnHold || snap.Calls[0].Agent != "a1" {
		t.Errorf("snapshot during hold: %+v", snap.Calls)
	}
	caller.RTP.Reset()
	time.Sleep(5 * time.Second)
	music := len(caller.RTP.Received())
	if dir, err := agent.Hold(ctx, ic, sdp.SendRecv); err != nil || dir != sdp.SendRecv {
		t.Fatalf("resume: %s %v", dir, err)
	}
	un := env.rec.waitKind(t, CallUnhold, "a1", 2*time.Second)
	if !near(un.OnHold, 5*time.Second, 200*time.Millisecond) {
		t.Errorf("on hold %v, want 5s ± 0.2s", un.OnHold)
	}
	// 5 s of hold music at 50 packets a second reached the caller.
	if music < 200 {
		t.Errorf("caller got %d packets during hold, want about 250", music)
	}
	if err := oc.DC.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]
	if e.Outcome != Connected || e.Holds != 1 || !near(e.OnHold, 5*time.Second, 200*time.Millisecond) {
		t.Fatalf("ended %+v", e)
	}
	env.rec.checkOneTerminal(t)
}

func TestMediaTimeout(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15133)
	cfg.MediaTimeout = time.Second
	env := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, ic, _, _ := agentAndCaller(t, env, ctx, 100*time.Millisecond) // the caller sends no RTP
	e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]
	if e.Outcome != Failed || !strings.Contains(e.Reason, "media timeout") {
		t.Fatalf("ended %+v", e)
	}
	select {
	case <-ic.DS.Context().Done():
	case <-time.After(3 * time.Second):
		t.Fatal("agent leg not released")
	}
}

func TestMalformedInviteThenNextCallWorks(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15134))
	// From 127.0.0.4, a trunk source.
	laddr, _ := net.ResolveUDPAddr("udp", "127.0.0.4:0")
	raddr, _ := net.ResolveUDPAddr("udp", env.addr)
	uc, err := net.DialUDP("udp", laddr, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	local := uc.LocalAddr().String()
	// No Contact header and an SDP body that is not SDP.
	body := "this is not sdp"
	msg := "INVITE sip:5550100@" + env.addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-malformed1\r\n" +
		"From: <sip:evil@127.0.0.4>;tag=1\r\nTo: <sip:5550100@127.0.0.1>\r\nCall-ID: malformed-1\r\n" +
		"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := uc.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	uc.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	code := 0
	for code < 200 {
		n, err := uc.Read(buf)
		if err != nil {
			t.Fatalf("no final response: %v", err)
		}
		fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code)
	}
	if code < 400 || code > 499 {
		t.Fatalf("malformed INVITE got %d", code)
	}
	e := env.rec.waitTerminal(t, 1, 3*time.Second)[0]
	if e.Kind != CallRefused || e.Outcome != Failed || e.Code != code {
		t.Fatalf("terminal %+v", e)
	}
	// and the next call works
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, _, _, oc := agentAndCaller(t, env, ctx, 100*time.Millisecond)
	oc.DC.Bye(ctx)
	if e := env.rec.waitTerminal(t, 2, 5*time.Second)[1]; e.Outcome != Connected {
		t.Fatalf("second call %+v", e)
	}
	env.rec.checkOneTerminal(t)
}

func TestWrongPasswordFloodBansOnlyThatAddress(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15135))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// 100 REGISTERs with a wrong password from 127.0.0.2, ten at a time.
	attacker := siptest.NewPhone(t, "127.0.0.2", "a2", "wrong")
	var wg sync.WaitGroup
	var forbidden, silent atomic.Int32
	sem := make(chan struct{}, 10)
	for range 100 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer rcancel()
			code, err := attacker.Register(rctx, env.addr, 300)
			switch {
			case err != nil:
				silent.Add(1)
			case code == 403:
				forbidden.Add(1)
			default:
				t.Errorf("wrong password got %d", code)
			}
		}()
	}
	wg.Wait()
	if forbidden.Load() == 0 || silent.Load() == 0 {
		t.Fatalf("forbidden %d, unanswered %d: expected refusals then a ban", forbidden.Load(), silent.Load())
	}
	if !env.srv.guard.banned(netip.MustParseAddr("127.0.0.2")) {
		t.Fatal("127.0.0.2 not banned")
	}
	// Even the right password from the banned address goes unanswered now.
	good := siptest.NewPhone(t, "127.0.0.2", "a2", "pw-a2")
	rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	if _, err := good.Register(rctx, env.addr, 300); err == nil {
		t.Error("banned address still served")
	}
	rcancel()
	// Meanwhile an agent at 127.0.0.3 keeps registering and taking calls.
	for range 3 {
		_, _, _, oc := agentAndCaller(t, env, ctx, 50*time.Millisecond)
		oc.DC.Bye(ctx)
		break
	}
	if e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]; e.Outcome != Connected {
		t.Fatalf("call during ban: %+v", e)
	}
	ph := siptest.NewPhone(t, "127.0.0.3", "a3", "pw-a3")
	if code, err := ph.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatalf("agent at 127.0.0.3 refused during ban: %d %v", code, err)
	}
}

func TestOverflowToQueueAndDrain(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15136)
	cfg.Queues[0].Members = []acd.Member{{Agent: "a2"}}
	cfg.Queues[0].MaxWait = 500 * time.Millisecond
	cfg.Queues[0].OverflowQueue = "backup"
	cfg.Queues = append(cfg.Queues, Queue{Name: "backup", Strategy: acd.LongestIdle, Members: []acd.Member{{Agent: "a1"}}, RingTimeout: 5 * time.Second})
	env := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	never := siptest.NewPhone(t, "127.0.0.2", "a2", "pw-a2")
	never.AnswerAfter = -1
	if code, err := never.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	_, _, _, oc := agentAndCaller(t, env, ctx, 100*time.Millisecond)
	ov := env.rec.waitKind(t, CallOverflow, "", time.Second)
	if ov.Overflow != "backup" {
		t.Errorf("overflow %+v", ov)
	}
	drained := make(chan error, 1)
	go func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		drained <- env.srv.Drain(dctx)
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-drained:
		t.Fatalf("drain returned with a live call: %v", err)
	default:
	}
	oc.DC.Bye(ctx)
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	e := env.rec.waitTerminal(t, 1, time.Second)[0]
	if e.Outcome != Timeout || e.Agent != "a1" || e.Overflow != "backup" {
		t.Fatalf("ended %+v", e)
	}
}

func TestDrainRefusesNewCallsWithRecord(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15141))
	dctx, dcancel := context.WithTimeout(context.Background(), time.Second)
	defer dcancel()
	if err := env.srv.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	caller := siptest.NewPhone(t, "127.0.0.4", "c", "")
	if _, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1)); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("call while draining: %v", err)
	}
	e := env.rec.waitTerminal(t, 1, 2*time.Second)[0]
	if e.Kind != CallRefused || e.Code != 503 || e.Outcome != Failed {
		t.Fatalf("terminal %+v", e)
	}
	env.rec.checkOneTerminal(t)
}

// recordingRouter remembers the Inbound it saw.
type recordingRouter struct {
	mu sync.Mutex
	in []Inbound
}

func (r *recordingRouter) Route(in Inbound) (Route, error) {
	r.mu.Lock()
	r.in = append(r.in, in)
	r.mu.Unlock()
	return Route{TrackingNumber: in.Dialed[0], Queue: "main"}, nil
}

func TestLineAccountAuthenticatesInviteAndLineCapacity(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15142)
	cfg.Lines = []LineAccount{{ID: "ata1", Username: "ata1", Password: "line-pw", MaxCalls: 1}}
	rec := newRecorder()
	rr := &recordingRouter{}
	s, err := New(cfg, rr, rec, slog.New(slog.DiscardHandler), wallClock{})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	<-s.Ready()
	defer func() { rcancel(); <-done }()
	addr := cfg.Listeners[0].Addr
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agent := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	agent.AnswerAfter = -1 // keeps the first call waiting
	if code, err := agent.Register(ctx, addr, 300); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	// The ATA (not a trunk address) registers as the line, then calls with digest auth.
	ata := siptest.NewPhone(t, "127.0.0.20", "ata1", "line-pw")
	if code, err := ata.Register(ctx, addr, 300); err != nil || code != 200 {
		t.Fatalf("line register: %d %v", code, err)
	}
	oc, err := ata.Call(ctx, "sip:5550100@"+addr, ata.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatalf("authenticated line call: %v", err)
	}
	rr.mu.Lock()
	line := rr.in[0].Line
	rr.mu.Unlock()
	if line != "ata1" {
		t.Errorf("line %q", line)
	}
	// The line carries one call at a time: a second call is busy.
	if _, err := ata.Call(ctx, "sip:5550100@"+addr, ata.Offer(sdp.SendRecv, 1)); err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("second call on a full line: %v", err)
	}
	// A wrong password is refused without a call record.
	bad := siptest.NewPhone(t, "127.0.0.21", "ata1", "guess")
	if _, err := bad.Call(ctx, "sip:5550100@"+addr, bad.Offer(sdp.SendRecv, 1)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("wrong line password: %v", err)
	}
	oc.DC.Bye(ctx)
	term := rec.waitTerminal(t, 2, 5*time.Second)
	outs := map[Outcome]int{}
	for _, e := range term {
		outs[e.Outcome]++
	}
	if outs[Busy] != 1 || outs[Abandoned] != 1 || len(term) != 2 {
		t.Fatalf("outcomes %v%s", outs, rec.dump())
	}
}

// TestInternalLineArrivedAgo: an internal line (the appliance's own FXO port) may say how long the
// line rang before its INVITE; the call's arrival moves back by that much, and no other line may.
func TestInternalLineArrivedAgo(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15162)
	cfg.Lines = []LineAccount{
		{ID: "fxo1", Username: "fxo1", Password: "internal-pw", Internal: true},
		{ID: "ata1", Username: "ata1", Password: "line-pw"},
	}
	rec := newRecorder()
	s, err := New(cfg, &recordingRouter{}, rec, slog.New(slog.DiscardHandler), wallClock{})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(rctx) }()
	<-s.Ready()
	defer func() { rcancel(); <-done }()
	addr := cfg.Listeners[0].Addr
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	agent := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	agent.AnswerAfter = -1
	if code, err := agent.Register(ctx, addr, 300); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	ago := sip.NewHeader(HeaderArrivedAgo, "6500")
	for _, user := range []string{"fxo1", "ata1"} {
		pw := map[string]string{"fxo1": "internal-pw", "ata1": "line-pw"}[user]
		ph := siptest.NewPhone(t, "127.0.0.22", user, pw)
		oc, err := ph.Call(ctx, "sip:5550100@"+addr, ph.Offer(sdp.SendRecv, 1), ago)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		time.Sleep(500 * time.Millisecond)
		oc.DC.Bye(ctx)
		term := rec.waitTerminal(t, map[string]int{"fxo1": 1, "ata1": 2}[user], 5*time.Second)
		e := term[len(term)-1]
		want := 500 * time.Millisecond
		if user == "fxo1" {
			want += 6500 * time.Millisecond
		}
		if e.Wait < want-200*time.Millisecond || e.Wait > want+200*time.Millisecond {
			t.Errorf("%s: wait %v, want about %v", user, e.Wait, want)
		}
	}
}

// TestAdmitRefusesNewCallsWith503: while Admit says no, a new call is refused 503 with Admit's
// reason (a trunk fails over), and is still an attempt with its events; once Admit says yes, calls
// are taken again.
func TestAdmitRefusesNewCallsWith503(t *testing.T) {
	t.Parallel()
	var refuse atomic.Bool
	refuse.Store(true)
	cfg := testConfig(15144)
	cfg.Admit = func() error {
		if refuse.Load() {
			return errors.New("call records cannot be saved")
		}
		return nil
	}
	env := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	caller := siptest.NewPhone(t, "127.0.0.4", "c", "")
	if _, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1)); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("call while Admit refuses: %v", err)
	}
	e := env.rec.waitTerminal(t, 1, 2*time.Second)[0]
	if e.Kind != CallRefused || e.Code != 503 || e.Outcome != Failed || e.Reason != "call records cannot be saved" {
		t.Fatalf("terminal %+v", e)
	}
	refuse.Store(false)
	agent := siptest.NewPhone(t, "127.0.0.2", "a1", "pw-a1") // a queue with nobody logged in refuses 480
	if code, err := agent.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatalf("call once Admit takes calls again: %v", err)
	}
	oc.DC.Bye(ctx)
	if e := env.rec.waitTerminal(t, 2, 5*time.Second)[1]; e.Kind == CallRefused {
		t.Fatalf("second call refused: %+v", e)
	}
}

// TestAnsweredOnlyOnceSaved: a call is answered only after Saved says its arrival is durable, and
// refused 503 when Saved fails (or outlasts SavedTimeout), so no caller hears an answer to a call
// that has no record.
func TestAnsweredOnlyOnceSaved(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	fail.Store(true)
	var envp atomic.Pointer[testEnv] // set once started, before any call
	var arrivedFirst, answeredBefore atomic.Int32
	cfg := testConfig(15146)
	cfg.SavedTimeout = 300 * time.Millisecond
	cfg.Saved = func(ctx context.Context) error {
		for _, e := range envp.Load().rec.all() {
			switch e.Kind {
			case CallArrived:
				arrivedFirst.Add(1)
			case CallAnswered:
				answeredBefore.Add(1)
			}
		}
		if fail.Load() {
			<-ctx.Done() // a disk that does not answer: the bound refuses the call
			return ctx.Err()
		}
		return nil
	}
	env := start(t, cfg)
	envp.Store(env)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	caller := siptest.NewPhone(t, "127.0.0.4", "c", "")
	if _, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1)); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("call while its record cannot be saved: %v, want 503", err)
	}
	e := env.rec.waitTerminal(t, 1, 2*time.Second)[0]
	if e.Kind != CallRefused || e.Code != 503 || e.Outcome != Failed || !strings.HasPrefix(e.Reason, "call record not saved") {
		t.Fatalf("terminal %+v", e)
	}
	fail.Store(false)
	agent := siptest.NewPhone(t, "127.0.0.2", "a1", "pw-a1")
	if code, err := agent.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatalf("call once records are saved: %v", err)
	}
	oc.DC.Bye(ctx)
	env.rec.waitTerminal(t, 2, 5*time.Second)
	if arrivedFirst.Load() < 2 || answeredBefore.Load() != 0 {
		t.Fatalf("Saved saw %d arrivals and %d answers before it returned; want each call's arrival and no answer",
			arrivedFirst.Load(), answeredBefore.Load())
	}
}
