package pbx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/siptest"
)

// hostile is a raw UDP socket for hand-written SIP: the traffic a scanner, a forger or a broken
// peer sends, which no SIP library would produce.
type hostile struct {
	t    *testing.T
	conn *net.UDPConn
	dst  *net.UDPAddr
}

func newHostile(t *testing.T, local, server string) *hostile {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(local)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &hostile{t: t, conn: c, dst: net.UDPAddrFromAddrPort(netip.MustParseAddrPort(server))}
}

// send writes msg with CRLF line ends; LOCAL in it becomes the socket's address.
func (h *hostile) send(msg string) {
	h.t.Helper()
	msg = strings.ReplaceAll(msg, "LOCAL", h.conn.LocalAddr().String())
	if _, err := h.conn.WriteToUDP([]byte(strings.ReplaceAll(msg, "\n", "\r\n")), h.dst); err != nil {
		h.t.Fatal(err)
	}
}

// read returns the next datagram, or "" when none comes within d.
func (h *hostile) read(d time.Duration) string {
	buf := make([]byte, 65536)
	h.conn.SetReadDeadline(time.Now().Add(d))
	n, _, err := h.conn.ReadFromUDP(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// final returns the next final response (skipping 100 Trying, which comes when an INVITE is
// answered after 200 ms), or "" when none comes within d.
func (h *hostile) final(d time.Duration) string {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		res := h.read(time.Until(deadline))
		if !strings.HasPrefix(res, "SIP/2.0 1") {
			return res
		}
	}
	return ""
}

// options is an OPTIONS request from LOCAL without a body; extra headers go after CSeq.
func options(uri, branch, cseq, extra string) string {
	return fmt.Sprintf("OPTIONS %s SIP/2.0\nVia: SIP/2.0/UDP LOCAL;rport;branch=z9hG4bK%s\nMax-Forwards: 70\n"+
		"From: <sip:scan@example.invalid>;tag=%s\nTo: <sip:ringside@example.invalid>\nCall-ID: %s@hostile\n"+
		"CSeq: %s\n%sContent-Length: 0\n\n", uri, branch, branch, branch, cseq, extra)
}

// TestTortureRequestsRefused sends requests that RFC 4475 says a UAS must refuse, written after its
// torture messages mcl01, mismatch01, bext01 and unkscm: each gets its error status, not 200 OK.
func TestTortureRequestsRefused(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15176))
	h := newHostile(t, "127.0.0.20:16170", env.addr)
	uri := "sip:ringside@" + env.addr
	cases := []struct {
		name, msg, status, unsupported string
	}{
		// mcl01: two Content-Length values; which one frames the body cannot be known.
		{"two Content-Length", options(uri, "mcl1", "1 OPTIONS", "l: 4\n"), "400", ""},
		// mismatch01: the CSeq method differs from the request's.
		{"CSeq method mismatch", options(uri, "mism1", "8 INVITE", ""), "400", ""},
		// bext01: an extension we do not support is required: 420 listing it in Unsupported.
		{"unknown Require", options(uri, "bext1", "1 OPTIONS", "Require: nothingSupportsThis, nothingSupportsThisEither\n"),
			"420", "nothingSupportsThis, nothingSupportsThisEither"},
		// unkscm: a Request-URI scheme we do not know: 416.
		{"unknown URI scheme", options("nobodyKnowsThisScheme:totallyopaquecontent", "unk1", "1 OPTIONS", ""), "416", ""},
	}
	for _, tc := range cases {
		h.send(tc.msg)
		res := h.read(3 * time.Second)
		if !strings.HasPrefix(res, "SIP/2.0 "+tc.status+" ") {
			t.Errorf("%s: got %q, want %s", tc.name, firstLine(res), tc.status)
			continue
		}
		if got := header(res, "Unsupported"); got != tc.unsupported {
			t.Errorf("%s: Unsupported %q, want %q", tc.name, got, tc.unsupported)
		}
	}
	// A well-formed OPTIONS from the same address is still answered.
	h.send(options(uri, "ok1", "1 OPTIONS", ""))
	if res := h.read(3 * time.Second); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Errorf("valid OPTIONS: %q", firstLine(res))
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}

// flood sends n copies of an OPTIONS from h (each its own transaction), then OPTIONS from
// sentinel until one is answered (the flood may overflow the server's socket buffer, and the
// sentinel's first datagram with it): the server reads one socket in order, so every flood datagram
// the kernel kept has then passed the guard. The sentinel should be trusted (a trunk address), so
// its retries stay within its budget. It returns how many flood requests were answered.
func flood(t *testing.T, h, sentinel *hostile, uri string, n int) int {
	t.Helper()
	for i := range n {
		h.send(options(uri, fmt.Sprintf("fl%d", i), "1 OPTIONS", ""))
	}
	round := fmt.Sprintf("sent%d-", time.Now().UnixNano()) // answers to an earlier round do not count
	for try := 0; ; try++ {
		if try == 20 {
			t.Fatal("sentinel OPTIONS never answered")
		}
		sentinel.send(options(uri, fmt.Sprint(round, try), "1 OPTIONS", ""))
		if res := sentinel.final(250 * time.Millisecond); strings.HasPrefix(res, "SIP/2.0 200 ") && strings.Contains(res, round) {
			break
		}
	}
	answered := 0
	for range n {
		if h.read(200*time.Millisecond) == "" {
			break
		}
		answered++
	}
	return answered
}

// TestForgedFloodFromTrustedSourcesDoesNotCutThemOff floods the trunk's address and a registered
// agent's address with forged requests: both are held to their own budget and never banned, and
// once the flood is over a real call from the trunk to that agent goes through at once.
func TestForgedFloodFromTrustedSourcesDoesNotCutThemOff(t *testing.T) {
	t.Parallel()
	siptest.NeedTool(t, "sipp")
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cfg := testConfig(15171)
	cfg.RateLimit, cfg.RateBurst = 5, 10
	cfg.TrustedRateLimit, cfg.TrustedRateBurst = 50, 100
	env := startWithClock(t, cfg, clk)
	uri := "sip:ringside@" + env.addr
	agent := sippAgent(t, env, "a1", "127.0.0.3", 16171, mp(16171), 200*time.Millisecond, 1)

	sentinel := newHostile(t, "127.0.0.5:16172", env.addr) // another trunk address
	const n = 1000
	for _, src := range []string{"127.0.0.4:16173", "127.0.0.3:16174"} { // the trunk; agent a1's phone
		h := newHostile(t, src, env.addr)
		answered := flood(t, h, sentinel, uri, n)
		a := netip.MustParseAddrPort(src).Addr()
		if env.srv.guard.banned(a) {
			t.Fatalf("trusted source %s banned by a forged flood", a)
		}
		if answered <= cfg.RateBurst || answered > cfg.TrustedRateBurst {
			t.Errorf("%s: %d of %d flood requests answered, want more than %d and at most %d", a, answered, n, cfg.RateBurst, cfg.TrustedRateBurst)
		}
	}
	// The same flood from an untrusted address still bans it.
	scanner := newHostile(t, "127.0.0.22:16175", env.addr)
	flood(t, scanner, sentinel, uri, 50)
	if !env.srv.guard.banned(netip.MustParseAddr("127.0.0.22")) {
		t.Error("untrusted flooder not banned")
	}

	clk.add(10 * time.Second) // the flood is over: budgets refill
	caller := sippCaller(t, env, "127.0.0.4", 17171, mp(17171), time.Second)
	mustPass(t, "caller", caller)
	mustPass(t, "agent", agent)
	if e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]; e.Outcome != Connected || e.Agent != "a1" {
		t.Fatalf("call after the flood: %+v%s", e, env.rec.dump())
	}
}

// TestStray200FromUnknownAddressIsIgnored sends a 200 OK for an INVITE the appliance never sent:
// it must not answer with ACK and BYE (a reflector). A late 200 for an INVITE a leg gave up on
// before the phone said anything is still ACKed and hung up.
func TestStray200FromUnknownAddressIsIgnored(t *testing.T) {
	t.Parallel()
	cfg := testConfig(15172)
	cfg.Queues[0].RingTimeout = 500 * time.Millisecond
	env := start(t, cfg)
	forger := newHostile(t, "127.0.0.24:16176", env.addr)
	forger.send("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKforged1\n" +
		"From: <sip:victim@127.0.0.1>;tag=forged-from\nTo: <sip:a1@LOCAL>;tag=forged-to\nCall-ID: forged-1@hostile\n" +
		"CSeq: 1 INVITE\nContact: <sip:a1@LOCAL>\nContent-Length: 0\n\n")
	if got := forger.read(2 * time.Second); got != "" {
		t.Fatalf("a stray 200 from an unknown address was answered: %q", firstLine(got))
	}

	// The legitimate case: agent a1's phone stays silent until the leg gives up, then answers.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	late := newHostile(t, "127.0.0.25:16177", env.addr)
	registerFor(t, env, "a1", netip.MustParseAddrPort("127.0.0.25:16177"))
	caller := siptest.NewPhone(t, "127.0.0.4", "c", "")
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer oc.DC.Bye(ctx)
	invite := late.read(5 * time.Second)
	if !strings.HasPrefix(invite, "INVITE ") {
		t.Fatalf("no INVITE for a1: %q", firstLine(invite))
	}
	env.rec.waitKind(t, CallNoAnswer, "a1", 5*time.Second)
	body := string(sdp.Local{Addr: netip.MustParseAddrPort("127.0.0.25:26177"), Codec: 0, TelephoneEvent: -1}.Marshal())
	(&rawAgent{conn: late.conn}).reply(late.dst, invite, "200 OK", "late1", "Contact: <sip:a1@127.0.0.25:16177>\r\n", body)
	var gotAck, gotBye bool
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !(gotAck && gotBye) {
		msg := late.read(time.Until(deadline))
		if header(msg, "Call-ID") != header(invite, "Call-ID") {
			continue // a new ring attempt, or nothing
		}
		gotAck = gotAck || strings.HasPrefix(msg, "ACK ")
		if strings.HasPrefix(msg, "BYE ") {
			gotBye = true
			(&rawAgent{conn: late.conn}).reply(late.dst, msg, "200 OK", "", "", "")
		}
	}
	if !gotAck || !gotBye {
		t.Fatalf("late 200 for our own INVITE: ACK %v, BYE %v", gotAck, gotBye)
	}
}

// TestBanStopsRetransmissions has a scanner's INVITE challenged (401, which RFC 3261 retransmits
// until an ACK, up to 32 s); once the scanner floods itself into a ban, the 401 stops.
func TestBanStopsRetransmissions(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cfg := testConfig(15173)
	cfg.RateLimit, cfg.RateBurst = 5, 10
	env := startWithClock(t, cfg, clk)
	uri := "sip:ringside@" + env.addr
	scanner := newHostile(t, "127.0.0.26:16178", env.addr)
	scanner.send("INVITE sip:100@" + env.addr + " SIP/2.0\nVia: SIP/2.0/UDP LOCAL;rport;branch=z9hG4bKscan1\n" +
		"Max-Forwards: 70\nFrom: <sip:100@scanner.invalid>;tag=scan1\nTo: <sip:100@" + env.addr + ">\n" +
		"Call-ID: scan1@hostile\nCSeq: 1 INVITE\nContact: <sip:100@LOCAL>\nContent-Length: 0\n\n")
	if res := scanner.final(3 * time.Second); !strings.HasPrefix(res, "SIP/2.0 401 ") {
		t.Fatalf("INVITE from a stranger: %q", firstLine(res))
	}
	sentinel := newHostile(t, "127.0.0.5:16179", env.addr)
	flood(t, scanner, sentinel, uri, 50)
	if !env.srv.guard.banned(netip.MustParseAddr("127.0.0.26")) {
		t.Fatal("scanner not banned")
	}
	for scanner.read(300*time.Millisecond) != "" { // what was sent before the ban; bounded by the flood's size
	}
	// Timer G resends the 401 after 0.5, 1, 2 and 4 s: 5 s covers at least two of them.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if res := scanner.read(time.Until(deadline)); strings.HasPrefix(res, "SIP/2.0 401 ") {
			t.Fatal("401 still retransmitted to a banned source")
		}
	}
}

// dialFrom opens a TCP connection from ip to the server.
func dialFrom(t *testing.T, ip, server string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 3 * time.Second}
	c, err := d.Dial("tcp", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closes c within d (a read ends other than by timeout).
func closedByServer(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

// optionsOverTCP sends an OPTIONS on c and reports whether 200 OK came back within d.
func optionsOverTCP(c net.Conn, uri, branch string, d time.Duration) bool {
	msg := strings.ReplaceAll(options(uri, branch, "1 OPTIONS", ""), "SIP/2.0/UDP LOCAL;rport", "SIP/2.0/TCP "+c.LocalAddr().String())
	if _, err := c.Write([]byte(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200 ")
}

// TestTCPIdleTimeoutAndPerAddressCap: a silent connection is closed after the idle time, one address
// cannot hold more than its cap of connections, and a ban closes the banned source's connections
// and refuses new ones.
func TestTCPIdleTimeoutAndPerAddressCap(t *testing.T) {
	t.Parallel()
	idleCfg := testConfig(15174)
	idleCfg.TCPIdleTimeout = 300 * time.Millisecond
	idle := start(t, idleCfg)
	if !closedByServer(dialFrom(t, "127.0.0.30", idle.addr), 5*time.Second) {
		t.Error("an idle TCP connection was not closed")
	}

	// A phone registered over TCP is reached through its connection: idle, it stays open.
	phone := dialFrom(t, "127.0.0.35", idle.addr)
	if code := registerOverTCP(t, phone, idle.addr, "a2", "pw-a2"); code != 200 {
		t.Fatalf("REGISTER over TCP: %d", code)
	}
	if closedByServer(phone, time.Second) {
		t.Error("the idle connection of a registered phone was closed")
	}

	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cfg := testConfig(15175)
	cfg.TCPMaxConnsPerAddr = 4
	cfg.RateLimit, cfg.RateBurst = 5, 10
	env := startWithClock(t, cfg, clk)
	uri := "sip:ringside@" + env.addr
	answered := 0
	for i := range 10 {
		if optionsOverTCP(dialFrom(t, "127.0.0.31", env.addr), uri, fmt.Sprintf("cap%d", i), 3*time.Second) {
			answered++
		}
	}
	if answered != cfg.TCPMaxConnsPerAddr {
		t.Errorf("%d of 10 connections from one address served, want the cap %d", answered, cfg.TCPMaxConnsPerAddr)
	}
	if !optionsOverTCP(dialFrom(t, "127.0.0.33", env.addr), uri, "other", 3*time.Second) {
		t.Error("another address refused while 127.0.0.31 is at its cap")
	}

	held := dialFrom(t, "127.0.0.32", env.addr)
	if !optionsOverTCP(held, uri, "held", 3*time.Second) {
		t.Fatal("connection from 127.0.0.32 not served")
	}
	flood(t, newHostile(t, "127.0.0.32:16180", env.addr), newHostile(t, "127.0.0.5:16181", env.addr), uri, 50)
	if !env.srv.guard.banned(netip.MustParseAddr("127.0.0.32")) {
		t.Fatal("flooder not banned")
	}
	if !closedByServer(held, 3*time.Second) {
		t.Error("the banned source's TCP connection stays open")
	}
	if !closedByServer(dialFrom(t, "127.0.0.32", env.addr), 3*time.Second) {
		t.Error("a new TCP connection from a banned source was accepted")
	}
}

// registerOverTCP registers user on c (answering the digest challenge) and returns the final status.
func registerOverTCP(t *testing.T, c net.Conn, server, user, pass string) int {
	t.Helper()
	uri := "sip:" + server
	send := func(cseq int, auth string) string {
		msg := fmt.Sprintf("REGISTER %s;transport=tcp SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bKreg%d\r\nMax-Forwards: 70\r\n"+
			"From: <sip:%s@%s>;tag=reg\r\nTo: <sip:%s@%s>\r\nCall-ID: reg-%s@hostile\r\nCSeq: %d REGISTER\r\n"+
			"Contact: <sip:%s@%s;transport=tcp>\r\nExpires: 300\r\n%sContent-Length: 0\r\n\r\n",
			uri, c.LocalAddr(), cseq, user, server, user, server, user, cseq, user, c.LocalAddr(), auth)
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	res := send(1, "")
	chal, err := digest.ParseChallenge(header(res, "WWW-Authenticate"))
	if err != nil {
		t.Fatalf("challenge in %q: %v", firstLine(res), err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: uri + ";transport=tcp", Username: user, Password: pass, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	code, _ := strconv.Atoi(strings.Fields(send(2, "Authorization: "+cred.String()+"\r\n"))[1])
	return code
}
