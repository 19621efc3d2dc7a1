package pbx

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/siptest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSanitize(t *testing.T) {
	if got := sanitizeNumber("+1 (555) 010-0199\r\nX-Evil: 1<script>"); got != "+1555010-0199X-Evil1script" {
		t.Errorf("number %q", got)
	}
	if got := sanitizeNumber(strings.Repeat("9", 100)); len(got) != maxNumberLen {
		t.Errorf("number not capped: %d", len(got))
	}
	if got := sanitizeName("  Dr.\tJane   O'Neil\r\n<b>\x00\"x\" "); got != "Dr. Jane O'Neil bx" {
		t.Errorf("name %q", got)
	}
	if got := sanitizeName(strings.Repeat("é", 100)); len([]rune(got)) != maxNameLen {
		t.Errorf("name not capped: %d", len([]rune(got)))
	}
	if redact("+15550100199") != "***199" {
		t.Error("redact")
	}
}

func parseReq(t testing.TB, raw string) *sip.Request {
	t.Helper()
	msg, err := sip.NewParser().ParseSIP([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return msg.(*sip.Request)
}

const forwardedInvite = `INVITE sip:+15550001111@10.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1
From: "Some \"Body\"" <sip:+15557654321@carrier.example>;tag=a
To: <sip:+15550002222@10.0.0.1>
Call-ID: fwd-1
CSeq: 1 INVITE
Contact: <sip:10.0.0.9>
Diversion: <sip:+15550003333@carrier.example>;reason=unconditional, <sip:+15550004444@x>;reason=busy
History-Info: <sip:+15550005555@carrier.example?Reason=SIP%3Bcause%3D302>;index=1
P-Asserted-Identity: "Jane Doe" <sip:+15559998888@carrier.example>
Content-Length: 0

`

func TestParseInboundForwardedAndPAI(t *testing.T) {
	in, err := parseInbound(parseReq(t, forwardedInvite))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"+15550001111", "+15550002222", "+15550003333", "+15550004444", "+15550005555"}
	if strings.Join(in.Dialed, ",") != strings.Join(want, ",") {
		t.Errorf("dialed %v", in.Dialed)
	}
	if in.Caller != "+15559998888" || in.CallerName != "Jane Doe" || in.Withheld {
		t.Errorf("caller %+v", in)
	}
	anon := strings.Replace(forwardedInvite, "P-Asserted-Identity", "Privacy: id\nX-PAI", 1)
	anon = strings.Replace(anon, "+15557654321@carrier.example", "anonymous@anonymous.invalid", 1)
	in, err = parseInbound(parseReq(t, anon))
	if err != nil {
		t.Fatal(err)
	}
	if !in.Withheld || in.Caller != "" || in.CallerName != "" {
		t.Errorf("withheld %+v", in)
	}
	noContact := strings.Replace(forwardedInvite, "Contact: <sip:10.0.0.9>\n", "", 1)
	if _, err := parseInbound(parseReq(t, noContact)); !errors.Is(err, ErrMalformed) {
		t.Errorf("missing Contact: %v", err)
	}
}

func FuzzParseInbound(f *testing.F) {
	f.Add([]byte(strings.ReplaceAll(forwardedInvite, "\n", "\r\n")))
	f.Add([]byte("INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\r\nFrom: <sip:anonymous@anonymous.invalid>;tag=1\r\nTo: <sip:1@h>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContact: <sip:h>\r\nContent-Length: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := sip.NewParser().ParseSIP(b)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok {
			return
		}
		in, err := parseInbound(req)
		if err != nil {
			return
		}
		for _, s := range append(in.Dialed, in.Caller, in.SIPCallID) {
			if len(s) > maxNumberLen || strings.ContainsAny(s, "\r\n<>\"' ;") {
				t.Fatalf("unsanitised number %q", s)
			}
		}
		if len([]rune(in.CallerName)) > maxNameLen || strings.ContainsAny(in.CallerName, "\r\n<>\"\x00") {
			t.Fatalf("unsanitised name %q", in.CallerName)
		}
		if len(in.Dialed) > maxCandidates {
			t.Fatalf("%d candidates", len(in.Dialed))
		}
	})
}

func FuzzVerifyCredentials(f *testing.F) {
	f.Add(`Digest username="a1", realm="ringside", nonce="abc", uri="sip:h", response="0123", qop=auth, nc=00000001, cnonce="x"`)
	f.Add(`Digest username=`)
	f.Fuzz(func(t *testing.T, h string) {
		clk := &fakeClock{t: time.Unix(0, 0)}
		n := newNonces(clk, time.Minute)
		_, res := n.verify(h, "REGISTER", "ringside", func(string) (string, bool) { return "pw", true })
		if res == authGood {
			t.Fatalf("accepted credentials for a nonce never issued: %q", h)
		}
	})
}

func TestNoncesExpireAndRefuseReplay(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	n := newNonces(clk, time.Minute)
	pw := func(u string) (string, bool) { return "secret", u == "a1" }
	chal := n.challenge("ringside", false)
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:h", Username: "a1", Password: "secret", Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, res := n.verify(cred.String(), "REGISTER", "ringside", pw); res != authGood {
		t.Fatalf("good credentials: %v", res)
	}
	if _, res := n.verify(cred.String(), "REGISTER", "ringside", pw); res == authGood {
		t.Fatal("replayed nc accepted")
	}
	bad, _ := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:h", Username: "a1", Password: "guess", Count: 5})
	if _, res := n.verify(bad.String(), "REGISTER", "ringside", pw); res != authBad {
		t.Fatalf("wrong password: %v", res)
	}
	clk.add(2 * time.Minute)
	late, _ := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:h", Username: "a1", Password: "secret", Count: 9})
	if _, res := n.verify(late.String(), "REGISTER", "ringside", pw); res != authStale {
		t.Fatalf("expired nonce: %v", res)
	}
}

func TestGuardBansOnlyOffender(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var banned []netip.Addr
	cfg := Config{RateLimit: 10, RateBurst: 20, TrustedRateLimit: 10, TrustedRateBurst: 20, BanAfter: 3, BanFor: time.Minute}
	g := newGuard(clk, cfg, func(netip.Addr) bool { return false }, func(a netip.Addr) { banned = append(banned, a) },
		func(netip.Addr) { t.Error("nothing is trusted") })
	bad, good := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")
	for range 3 {
		g.authFailed(bad)
	}
	if !g.banned(bad) || g.banned(good) || g.allow(bad) || !g.allow(good) {
		t.Fatal("ban not limited to the offender")
	}
	clk.add(2 * time.Minute)
	if g.banned(bad) || !g.allow(bad) {
		t.Fatal("ban did not expire")
	}
	// flood: 20 burst + refill
	flood := netip.MustParseAddr("127.0.0.5")
	n := 0
	for g.allow(flood) && n < 1000 {
		n++
	}
	if n != 20 || !g.banned(flood) {
		t.Fatalf("flood allowed %d before ban", n)
	}
	if len(banned) != 2 {
		t.Errorf("ban callbacks %v", banned)
	}
}

func TestConfigRejectsConflicts(t *testing.T) {
	base := testConfig(15199)
	cases := map[string]func(*Config){
		"overflow both":      func(c *Config) { c.Queues[0].OverflowQueue = "x"; c.Queues[0].OverflowURI = "sip:x@y" },
		"unknown member":     func(c *Config) { c.Queues[0].Members[0].Agent = "ghost" },
		"duplicate username": func(c *Config) { c.Lines = []LineAccount{{ID: "l", Username: "a1", Password: "p"}} },
		"bad network":        func(c *Config) { c.Listeners[0].Network = "sctp" },
		"no public addr":     func(c *Config) { c.PublicAddr = netip.Addr{} },
		"busy code 200":      func(c *Config) { c.BusyCode = 200 },
		"tls without cert":   func(c *Config) { c.Listeners[0].Network = "tls" },
		"overflow self":      func(c *Config) { c.Queues[0].OverflowQueue = "main" },
	}
	for name, mut := range cases {
		c := base
		c.Queues = append([]Queue(nil), base.Queues...)
		c.Queues[0].Members = append(c.Queues[0].Members[:0:0], base.Queues[0].Members...)
		c.Listeners = append([]Listener(nil), base.Listeners...)
		mut(&c)
		if _, err := c.withDefaults(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if c, err := base.withDefaults(); err != nil || c.BusyCode != DefaultBusyCode || c.Queues[0].ClosedAction != ClosedRefuse {
		t.Errorf("defaults: %v %+v", err, c)
	}
}

func TestRegistrationExpiresAndOptions(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15137)
	cfg.MinExpires = time.Second
	env := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	if code, err := p.Register(ctx, env.addr, 1); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	env.rec.waitKind(t, AgentChanged, "a1", time.Second)
	if !registered(env.srv, "a1") {
		t.Fatal("not registered")
	}
	deadline := time.Now().Add(4 * time.Second)
	for registered(env.srv, "a1") || env.srv.engine.AgentState("a1") != "unregistered" {
		if time.Now().After(deadline) {
			t.Fatal("registration did not expire")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// a refresh brings it back; OPTIONS is answered
	if code, err := p.Register(ctx, env.addr, 60); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	if code, err := p.Register(ctx, env.addr, 0); err != nil || code != 200 {
		t.Fatal("unregister", code, err)
	}
	if env.srv.engine.AgentState("a1") != "unregistered" {
		t.Error("explicit unregister ignored")
	}
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 15137})
	res, err := p.Client.Do(ctx, req)
	if err != nil || res.StatusCode != 200 || res.GetHeader("Allow") == nil {
		t.Fatalf("OPTIONS: %v %v", res, err)
	}
	// an agent may not call out through the appliance (inbound only)
	out := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	if _, err := out.Call(ctx, "sip:+4930123456@127.0.0.1:15137", out.Offer(sdp.SendRecv, 1)); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("outbound call by an agent: %v", err)
	}
}
