package pbx

import (
	"bytes"
	"context"
	"testing"
	"time"

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
