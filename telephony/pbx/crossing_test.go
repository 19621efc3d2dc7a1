package pbx

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/siptest"
)

// rawAgent is a hand-driven UDP SIP endpoint for the one race a real phone library cannot stage:
// it answers 200 OK to an INVITE only when the CANCEL for it arrives, so the 200 crosses the CANCEL.
type rawAgent struct {
	conn *net.UDPConn
}

func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (r *rawAgent) reply(to *net.UDPAddr, req, status, toTag, extra, body string) {
	toH := header(req, "To")
	if toTag != "" && !strings.Contains(toH, "tag=") {
		toH += ";tag=" + toTag
	}
	msg := "SIP/2.0 " + status + "\r\nVia: " + header(req, "Via") + "\r\nFrom: " + header(req, "From") + "\r\nTo: " + toH +
		"\r\nCall-ID: " + header(req, "Call-ID") + "\r\nCSeq: " + header(req, "CSeq") + "\r\n" + extra
	if body != "" {
		msg += "Content-Type: application/sdp\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
	} else {
		msg += "Content-Length: 0\r\n\r\n"
	}
	_, _ = r.conn.WriteToUDP([]byte(msg), to)
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCancelCrossedBy200IsAckedAndByed(t *testing.T) {
	t.Parallel()
	env := start(t, testConfig(15143))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	uc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.9:16243")))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	raw := &rawAgent{conn: uc}
	registerFor(t, env, "a2", netip.MustParseAddrPort("127.0.0.9:16243"))
	winner := siptest.NewPhone(t, "127.0.0.3", "a1", "pw-a1")
	winner.AnswerAfter = 300 * time.Millisecond
	if code, err := winner.Register(ctx, env.addr, 300); err != nil || code != 200 {
		t.Fatal(code, err)
	}
	gotAck, gotBye := make(chan string, 1), make(chan string, 1)
	go func() {
		buf := make([]byte, 8192)
		var invite string
		for {
			uc.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, from, err := uc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			switch {
			case strings.HasPrefix(msg, "INVITE "):
				invite = msg
				raw.reply(from, msg, "180 Ringing", "raw1", "", "")
			case strings.HasPrefix(msg, "CANCEL ") && invite != "":
				// The crossing: 200 OK for the INVITE goes out before the answer to the CANCEL.
				body := string(sdp.Local{Addr: netip.MustParseAddrPort("127.0.0.9:26243"), Codec: 0, TelephoneEvent: -1}.Marshal())
				raw.reply(from, invite, "200 OK", "raw1", "Contact: <sip:a2@127.0.0.9:16243>\r\n", body)
				raw.reply(from, msg, "200 OK", "raw1", "", "")
			case strings.HasPrefix(msg, "ACK "):
				if header(msg, "Call-ID") == header(invite, "Call-ID") {
					select {
					case gotAck <- msg:
					default:
					}
				}
			case strings.HasPrefix(msg, "BYE "):
				raw.reply(from, msg, "200 OK", "", "", "")
				select {
				case gotBye <- msg:
				default:
				}
			}
		}
	}()
	caller := siptest.NewPhone(t, "127.0.0.4", "c", "")
	oc, err := caller.Call(ctx, "sip:5550100@"+env.addr, caller.Offer(sdp.SendRecv, 1))
	if err != nil {
		t.Fatal(err)
	}
	if e := env.rec.waitKind(t, CallConnected, "", 5*time.Second); e.Agent != "a1" {
		t.Fatalf("connected to %q", e.Agent)
	}
	select {
	case <-gotAck:
	case <-time.After(5 * time.Second):
		t.Fatal("the 200 that crossed the CANCEL was never ACKed")
	}
	select {
	case bye := <-gotBye:
		if header(bye, "Call-ID") == "" {
			t.Fatal("BYE without Call-ID")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the leg whose 200 crossed the CANCEL was never hung up")
	}
	oc.DC.Bye(ctx)
	if e := env.rec.waitTerminal(t, 1, 5*time.Second)[0]; e.Outcome != Connected || e.Agent != "a1" {
		t.Fatalf("ended %+v", e)
	}
}
