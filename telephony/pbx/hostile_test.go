package pbx

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
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
