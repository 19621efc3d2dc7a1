package pbx

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

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
	env := start(t, testConfig(15170))
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

// flood sends n copies of an OPTIONS from h (each its own transaction), then an OPTIONS from
// sentinel and waits for its answer: the server reads one socket in order, so every flood datagram
// the kernel kept has then passed the guard. It returns how many flood requests were answered.
func flood(t *testing.T, h, sentinel *hostile, uri string, n int) int {
	t.Helper()
	for i := range n {
		h.send(options(uri, fmt.Sprintf("fl%d", i), "1 OPTIONS", ""))
	}
	sentinel.send(options(uri, fmt.Sprintf("sent%d", time.Now().UnixNano()), "1 OPTIONS", ""))
	if res := sentinel.read(5 * time.Second); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("sentinel OPTIONS: %q", firstLine(res))
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

	sentinel := newHostile(t, "127.0.0.21:16172", env.addr)
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
