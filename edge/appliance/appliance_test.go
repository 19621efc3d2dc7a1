package appliance

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/softphone"
)

// The callers come from 127.0.0.5 (the trunk); the agents' phones sit on 127.0.0.6.
var (
	callerIP = netip.MustParseAddr("127.0.0.5")
	agentIP  = netip.MustParseAddr("127.0.0.6")
)

const e2eConfig = `
site: {name: E2E Dental, time_zone: America/New_York, region: US}
sip:
  listen: ["udp:127.0.0.1:%d"]
  rtp_port_min: %d
  rtp_port_max: %d
lines:
  - {id: trunk, kind: sip_trunk, addresses: ["127.0.0.5/32"], max_calls: 10}
%stracking_numbers:
  - {number: "+1 212 555 0101", source: paid_search, campaign: spring, queue: desk}
  - {number: "+1 212 555 0102", source: direct, queue: empty}
  - {number: "+1 212 555 0103", source: social, queue: night}
  - {number: "+1 212 555 0104", source: organic_search, queue: tiny}
queues:
  - {name: desk, strategy: ring_all, members: [{agent: alice}], ring_timeout: 30s, wrap_up: 1s, max_wait: 60s}
  - {name: empty, members: [{agent: nobody}]}
  - {name: night, members: [{agent: alice}], hours: never}
  - {name: tiny, members: [{agent: bob}], max_callers: 1, max_wait: 60s, ring_timeout: 30s}
agents:
  - {id: alice, username: alice, password: sip-secret-alice}
  - {id: bob, username: bob, password: sip-secret-bob}
  - {id: nobody, username: nobody, password: sip-secret-nobody}
business_hours:
  never: {week: {mon: closed}}
web: {listen: "127.0.0.1:0", wallboard_token: tv-token-e2e}
leds: {simulated: true}
state_dir: %s
`

func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sippMediaPort is a port for sipp's -mp: sipp binds it and the next three (audio and video RTP
// and RTCP), so all four must be free, on every address (the appliance's RTP sockets may hold one).
func sippMediaPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freePort(t)
		free := p+3 <= 65535
		for i := 0; free && i < 4; i++ {
			c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p+i))
			if free = err == nil; free {
				c.Close()
			}
		}
		if free {
			return p
		}
	}
	t.Fatal("no four free UDP ports in a row for sipp's media")
	return 0
}

type e2e struct {
	t    *testing.T
	a    *Appliance
	sip  netip.AddrPort
	stop context.CancelFunc
	wg   sync.WaitGroup
}

func startAppliance(t *testing.T) *e2e { return startApplianceWith(t, "") }

// startApplianceWith runs the appliance on e2eConfig with extra top-level YAML appended.
func startApplianceWith(t *testing.T, extra string) *e2e {
	return startApplianceIn(t, t.TempDir(), extra)
}

// startApplianceIn is startApplianceWith with the state directory chosen by the test.
func startApplianceIn(t *testing.T, stateDir, extra string) *e2e {
	return startApplianceFull(t, stateDir, "", extra)
}

// startApplianceWithLines adds lines (YAML list items) to the trunk.
func startApplianceWithLines(t *testing.T, lines string) *e2e {
	return startApplianceFull(t, t.TempDir(), lines, "")
}

func startApplianceFull(t *testing.T, stateDir, lines, extra string) *e2e {
	t.Helper()
	return startApplianceFrom(t, e2eConfig, stateDir, lines, extra)
}

// startApplianceFrom runs the appliance on tmpl, a variant of e2eConfig with the same verbs;
// each of before changes the appliance between New and Run (the lowest layer's fakes).
func startApplianceFrom(t *testing.T, tmpl, stateDir, lines, extra string, before ...func(*Appliance)) *e2e {
	t.Helper()
	port := freePort(t)
	rtp := 30000 + (port%1000)*20
	cfg, err := config.Parse([]byte(fmt.Sprintf(tmpl, port, rtp, rtp+400, lines, stateDir)+extra), "e2e.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := New(context.Background(), cfg, log, SystemClock, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range before {
		if f != nil {
			f(a)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &e2e{t: t, a: a, sip: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), stop: cancel}
	e.wg.Go(func() {
		if err := a.Run(ctx, nil); err != nil {
			t.Errorf("appliance: %v", err)
		}
	})
	select {
	case <-a.PBX.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("SIP not ready")
	}
	t.Cleanup(func() { cancel(); e.wg.Wait() })
	return e
}

// mediaSink is a UDP socket a test phone announces in its SDP; what arrives is read and dropped.
func mediaSink(t *testing.T, ip netip.Addr) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func (e *e2e) agent(user string, answerAfter time.Duration) *softphone.Phone {
	e.t.Helper()
	ph, err := softphone.New(agentIP.String(), user, "sip-secret-"+user, slog.New(slog.DiscardHandler))
	if err != nil {
		e.t.Fatal(err)
	}
	ph.AnswerAfter = answerAfter
	ph.MediaAddr = mediaSink(e.t, agentIP)
	e.t.Cleanup(ph.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if code, err := ph.Register(ctx, e.sip.String(), 300); err != nil || code != 200 {
		e.t.Fatalf("register %s: %d %v", user, code, err)
	}
	return ph
}

// sippAgentPort registers user's contact at a free port on the agents' address, where the test
// then runs a sipp UAS as that agent's phone (a softphone does the digest REGISTER for it).
func (e *e2e) sippAgentPort(user string) int {
	e.t.Helper()
	port := freePort(e.t)
	reg, err := softphone.New(agentIP.String(), user, "sip-secret-"+user, slog.New(slog.DiscardHandler))
	if err != nil {
		e.t.Fatal(err)
	}
	defer reg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code, err := reg.RegisterFor(ctx, e.sip.String(), netip.AddrPortFrom(agentIP, uint16(port)), 300); err != nil || code != 200 {
		e.t.Fatalf("register the sipp agent %s: %d %v", user, code, err)
	}
	return port
}

func (e *e2e) caller(number string) *softphone.Phone {
	e.t.Helper()
	ph, err := softphone.New(callerIP.String(), number, "", slog.New(slog.DiscardHandler))
	if err != nil {
		e.t.Fatal(err)
	}
	ph.MediaAddr = mediaSink(e.t, callerIP)
	e.t.Cleanup(ph.Close)
	return ph
}

func (e *e2e) dial(ph *softphone.Phone, tracking string) (*softphone.OutCall, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return ph.Call(ctx, fmt.Sprintf("sip:%s@%s", tracking, e.sip), ph.Offer(sdp.SendRecv, 1))
}

func hangup(c *softphone.OutCall) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = c.DC.Bye(ctx)
}

// record waits for the finished record of the one call from caller.
func (e *e2e) record(caller string) call.Record {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for r, err := range e.a.Store.CallsArrived(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour)) {
			if err != nil {
				e.t.Fatal(err)
			}
			if r.CallerNumber == caller && r.Finished() {
				j, err := e.a.Store.Journal(context.Background(), r.ID)
				if err != nil {
					e.t.Fatal(err)
				}
				again, err := call.Rebuild(j)
				if err != nil || again.Outcome != r.Outcome || again.Wait != r.Wait.Truncate(time.Millisecond) && again.Wait.Truncate(time.Millisecond) != r.Wait {
					e.t.Fatalf("journal of %s does not rebuild the record: %v\nrecord %+v\nrebuilt %+v", r.ID, err, r, again)
				}
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("no finished record for caller %s", caller)
	return call.Record{}
}

func near(got, want, tol time.Duration) bool { return got >= want-tol && got <= want+tol }

func TestEndToEndOutcomes(t *testing.T) {
	e := startAppliance(t)
	e.agent("alice", 3*time.Second)

	t.Run("connected", func(t *testing.T) {
		ph := e.caller("+19175550001")
		sent := time.Now() // the INVITE leaves now: the call's arrival
		c, err := e.dial(ph, "+12125550101")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(sent.Add(5 * time.Second))) // 3 s in the queue, then 2 s talking
		hangup(c)
		r := e.record("+19175550001")
		if r.Outcome != call.Connected || r.Agent != "alice" || r.Queue != "desk" {
			t.Fatalf("record %+v", r)
		}
		if !near(r.Wait, 3*time.Second, 300*time.Millisecond) || !near(r.Talk, 2*time.Second, 300*time.Millisecond) {
			t.Errorf("wait %v (want 3 s), talk %v (want 2 s)", r.Wait, r.Talk)
		}
		if r.Attribution.Source != "paid_search" || r.Attribution.Campaign != "spring" || r.TrackingNumber != "+12125550101" || !r.FirstTime || r.Answered.IsZero() {
			t.Errorf("attribution %+v, tracking %s, first %v", r.Attribution, r.TrackingNumber, r.FirstTime)
		}
	})

	t.Run("no_agent", func(t *testing.T) {
		ph := e.caller("+19175550002")
		if c, err := e.dial(ph, "+12125550102"); err == nil {
			hangup(c)
			t.Fatal("a queue without agents answered")
		}
		if r := e.record("+19175550002"); r.Outcome != call.NoAgent || r.Attribution.Source != "direct" {
			t.Fatalf("record %+v", r)
		}
	})

	t.Run("closed", func(t *testing.T) {
		ph := e.caller("+19175550003")
		if c, err := e.dial(ph, "+12125550103"); err == nil {
			hangup(c)
			t.Fatal("a closed queue answered")
		}
		if r := e.record("+19175550003"); r.Outcome != call.Closed {
			t.Fatalf("record %+v", r)
		}
	})
}

func TestEndToEndAbandonAndBusy(t *testing.T) {
	e := startAppliance(t)
	e.agent("bob", -1) // bob lets it ring

	first := e.caller("+19175550010")
	sent := time.Now() // the INVITE leaves now: the call's arrival
	c, err := e.dial(first, "+12125550104")
	if err != nil {
		t.Fatal(err)
	}
	// The first caller gives up after 4 s, whatever the busy check below costs.
	hungUp := make(chan struct{})
	go func() {
		defer close(hungUp)
		time.Sleep(time.Until(sent.Add(4 * time.Second)))
		hangup(c)
	}()
	// The queue holds one caller: a second one is refused busy.
	second := e.caller("+19175550011")
	if c2, err := e.dial(second, "+12125550104"); err == nil {
		hangup(c2)
		t.Fatal("a full queue answered")
	} else if !strings.Contains(err.Error(), "486") {
		t.Errorf("refusal %v, want 486", err)
	}
	if r := e.record("+19175550011"); r.Outcome != call.Busy || r.WasAnswered() {
		t.Fatalf("busy record %+v", r)
	}
	<-hungUp
	r := e.record("+19175550010")
	if r.Outcome != call.Abandoned || !near(r.Wait, 4*time.Second, 300*time.Millisecond) || r.Agent != "" {
		t.Fatalf("abandoned record: outcome %s wait %v agent %q", r.Outcome, r.Wait, r.Agent)
	}
}

// TestNightModeButton: a short press of the front-panel button (the simulated board's button,
// through the real debouncer) turns night mode on, and a call arriving then is closed; another
// press turns it off and calls reach the queue again.
func TestNightModeButton(t *testing.T) {
	e := startAppliance(t)
	e.agent("alice", 500*time.Millisecond)
	btn, ok := e.a.Board.Button.(*hw.SimButton)
	if !ok {
		t.Fatalf("button is %T, want the simulated board's", e.a.Board.Button)
	}
	press := func() {
		btn.Press()
		time.Sleep(200 * time.Millisecond) // longer than the debounce, shorter than a long press
		btn.Release()
	}
	waitNight := func(on bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for e.a.Status().Night != on {
			if time.Now().After(deadline) {
				t.Fatalf("night mode did not turn %v", on)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	press()
	waitNight(true)
	ph := e.caller("+19175550020")
	if c, err := e.dial(ph, "+12125550101"); err == nil {
		hangup(c)
		t.Fatal("a call in night mode was answered")
	}
	if r := e.record("+19175550020"); r.Outcome != call.Closed {
		t.Fatalf("night-mode call: %s (%s), want closed", r.Outcome, r.Reason)
	}
	press()
	waitNight(false)
	ph2 := e.caller("+19175550021")
	c, err := e.dial(ph2, "+12125550101")
	if err != nil {
		t.Fatalf("after night mode: %v", err)
	}
	time.Sleep(time.Second)
	hangup(c)
	if r := e.record("+19175550021"); r.Outcome != call.Connected {
		t.Fatalf("day call: %s (%s), want connected", r.Outcome, r.Reason)
	}
}

// TestLostLineRegistrationRaisesTheAlarm: an ATA's line account registers, then its registration
// goes away (here it unregisters): the alarm LED flashes for "registration lost".
func TestLostLineRegistrationRaisesTheAlarm(t *testing.T) {
	e := startApplianceWithLines(t, `
  - {id: ata1, kind: sip_account, username: ata1, password: sip-secret-ata1}
`)
	ata, err := softphone.New("127.0.0.7", "ata1", "sip-secret-ata1", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ata.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alarmed := func() bool { return e.a.Status().Alarms&hw.AlarmRegistrationLost != 0 }
	if code, err := ata.Register(ctx, e.sip.String(), 300); err != nil || code != 200 {
		t.Fatalf("register: %d %v", code, err)
	}
	time.Sleep(1500 * time.Millisecond) // a status pass or more
	if alarmed() {
		t.Fatal("alarm while the line is registered")
	}
	if code, err := ata.Register(ctx, e.sip.String(), 0); err != nil || code != 200 {
		t.Fatalf("unregister: %d %v", code, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !alarmed() {
		if time.Now().After(deadline) {
			t.Fatal("no registration-lost alarm after the line went away")
		}
		time.Sleep(50 * time.Millisecond)
	}
	pattern := func() string {
		for _, l := range e.a.Panel.Snapshot() {
			if l.LED == "alarm" {
				return l.Pattern
			}
		}
		return ""
	}
	for deadline := time.Now().Add(2 * time.Second); pattern() != "fast_blink"; {
		if time.Now().After(deadline) {
			t.Fatalf("alarm LED %q, want fast_blink", pattern())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
