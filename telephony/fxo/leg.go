package fxo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/ringside/ringside/telephony/g711"
	"github.com/ringside/ringside/telephony/sdp"
)

// leg is the port's SIP user agent toward the appliance: one SIP socket and one RTP socket for
// the port's lifetime, one call at a time.
type leg struct {
	cfg    *validated
	log    *slog.Logger
	line   Line
	ua     *sipgo.UserAgent
	client *sipgo.Client
	dua    sipgo.DialogUA
	sipPC  net.PacketConn
	rtp    *net.UDPConn
	addr   netip.AddrPort
	wg     sync.WaitGroup

	mu  sync.Mutex
	cur *legCall
}

// legCall is one call placed to the appliance.
type legCall struct {
	l      *leg
	dc     *sipgo.DialogClientSession
	remote *net.UDPAddr
	codec  g711.Codec
	callID string

	// Owned by the port's goroutine (send side).
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
	pkt     []byte

	once sync.Once
	done chan struct{} // closed when the appliance hangs up or the call is released
}

func newLeg(cfg *validated, line Line, log *slog.Logger) (*leg, error) {
	quiet := slog.New(slog.DiscardHandler)
	ip := cfg.BindIP.String()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("ringside-fxo-"+cfg.Port), sipgo.WithUserAgentHostname(ip),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		return nil, fmt.Errorf("fxo %s: SIP agent: %w", cfg.Port, err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("fxo %s: SIP server: %w", cfg.Port, err)
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("fxo %s: SIP socket: %w", cfg.Port, err)
	}
	rtpConn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.BindIP, 0)))
	if err != nil {
		pc.Close()
		ua.Close()
		return nil, fmt.Errorf("fxo %s: RTP socket: %w", cfg.Port, err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientPort(int(addr.Port())),
		sipgo.WithClientConnectionAddr(addr.String()), sipgo.WithClientLogger(quiet))
	if err != nil {
		pc.Close()
		rtpConn.Close()
		ua.Close()
		return nil, fmt.Errorf("fxo %s: SIP client: %w", cfg.Port, err)
	}
	l := &leg{cfg: cfg, log: log, line: line, ua: ua, client: client, sipPC: pc, rtp: rtpConn, addr: addr}
	l.dua = sipgo.DialogUA{Client: client, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: cfg.Username, Host: ip, Port: int(addr.Port())}}}
	srv.OnInvite(l.onReInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {})
	srv.OnBye(l.onBye)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	l.wg.Go(func() { _ = srv.ServeUDP(pc) })
	l.wg.Go(l.readRTP)
	// Requests must leave from the listening socket: wait (bounded) until the transport knows it.
	for deadline := time.Now().Add(2 * time.Second); ; {
		if c, err := ua.TransportLayer().GetConnection("udp", addr.String()); err == nil && c != nil {
			break
		}
		if time.Now().After(deadline) {
			l.close()
			return nil, fmt.Errorf("fxo %s: SIP listener did not start", cfg.Port)
		}
		time.Sleep(time.Millisecond)
	}
	return l, nil
}

// close stops the leg; the caller has already ended any call.
func (l *leg) close() {
	l.sipPC.Close()
	l.rtp.Close()
	_ = l.ua.Close()
	l.wg.Wait()
}

func (l *leg) offer(version uint64) []byte {
	return sdp.Local{Addr: l.rtp.LocalAddr().(*net.UDPAddr).AddrPort(), Codec: l.cfg.Codec, TelephoneEvent: -1,
		Direction: sdp.SendRecv, SessionID: 1, Version: version}.Marshal()
}

// callerUser turns a decoded number into a SIP user part: digits, '+', '*' and '#' only, at
// most 32 of them; anything else (or nothing) is "anonymous".
func callerUser(number string) string {
	var b strings.Builder
	for _, r := range number {
		if (r >= '0' && r <= '9') || r == '+' || r == '*' || r == '#' {
			b.WriteRune(r)
		}
		if b.Len() >= 32 {
			break
		}
	}
	if b.Len() == 0 {
		return "anonymous"
	}
	return b.String()
}

// quotedName makes a display name safe to put in quotes.
func quotedName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 0x20 && r < 0x7f && r != '"' && r != '\\' {
			b.WriteRune(r)
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// dial places the call and returns once the appliance answered. number is the decoded number
// ("" when none), withheld marks a withheld or unavailable caller, arrivedAgo is the time since
// the first ring.
func (l *leg) dial(ctx context.Context, number, name string, withheld bool, arrivedAgo time.Duration) (*legCall, error) {
	host := l.cfg.SIPTarget.Addr().String()
	ruri := sip.Uri{Scheme: "sip", User: l.cfg.TrackingNumber, Host: host, Port: int(l.cfg.SIPTarget.Port())}
	user := callerUser(number)
	if withheld {
		user = "anonymous"
	}
	fromHost := host
	if user == "anonymous" {
		fromHost = "anonymous.invalid" // RFC 3323 section 4.1.1.3
		name = ""
	}
	from := &sip.FromHeader{DisplayName: quotedName(name), Address: sip.Uri{Scheme: "sip", User: user, Host: fromHost},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(10)}}}
	hdrs := []sip.Header{from, &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: l.cfg.TrackingNumber, Host: host}},
		sip.NewHeader("Content-Type", "application/sdp"),
		sip.NewHeader("X-Ringside-Arrived-Ago", strconv.FormatInt(max(arrivedAgo.Milliseconds(), 0), 10))}
	if user == "anonymous" {
		hdrs = append(hdrs, sip.NewHeader("Privacy", "id"))
	} else {
		pai := "<sip:" + user + "@" + host + ">"
		if n := quotedName(name); n != "" {
			pai = `"` + n + `" ` + pai
		}
		hdrs = append(hdrs, sip.NewHeader("P-Asserted-Identity", pai))
	}
	c := &legCall{l: l, done: make(chan struct{}), payload: make([]byte, 0, FrameSamples), pkt: make([]byte, 0, 12+FrameSamples)}
	var b [6]byte
	_, _ = rand.Read(b[:])
	c.ssrc, c.seq = binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint16(b[4:])
	dc, err := l.dua.Invite(ctx, ruri, l.offer(1), hdrs...)
	if err != nil {
		return nil, fmt.Errorf("%w: INVITE %s: %w", ErrUnreachable, l.cfg.SIPTarget, err)
	}
	c.dc = dc
	if id := dc.InviteRequest.CallID(); id != nil {
		c.callID = string(*id)
	}
	if err := dc.WaitAnswer(ctx, sipgo.AnswerOptions{Username: l.cfg.Username, Password: l.cfg.Password}); err != nil {
		var e *sipgo.ErrDialogResponse
		if errors.As(err, &e) {
			return c, fmt.Errorf("%w: %d %s", ErrRefused, e.Res.StatusCode, e.Res.Reason)
		}
		return c, fmt.Errorf("%w: INVITE %s: %w", ErrUnreachable, l.cfg.SIPTarget, err)
	}
	if err := dc.Ack(ctx); err != nil {
		return c, fmt.Errorf("%w: ACK: %w", ErrSetup, err)
	}
	m, err := sdp.Parse(dc.InviteResponse.Body())
	if err == nil {
		c.codec, err = m.Codec()
	}
	if err != nil {
		c.bye()
		return c, fmt.Errorf("%w: answer SDP: %w", ErrSetup, err)
	}
	c.remote = net.UDPAddrFromAddrPort(m.Addr)
	l.mu.Lock()
	l.cur = c
	l.mu.Unlock()
	return c, nil
}

// refusedCode returns the SIP status of a refused dial, 0 when there was none.
func refusedCode(c *legCall) int {
	if c != nil && c.dc != nil && c.dc.InviteResponse != nil && c.dc.InviteResponse.StatusCode >= 300 {
		return c.dc.InviteResponse.StatusCode
	}
	return 0
}

// send sends one frame of line audio as one RTP packet (RFC 3550; timestamp in samples).
func (c *legCall) send(frame []int16) {
	c.payload = c.codec.Encode(c.payload[:0], frame)
	h := rtp.Header{Version: 2, PayloadType: uint8(c.codec), SequenceNumber: c.seq, Timestamp: c.ts, SSRC: c.ssrc}
	c.seq++
	c.ts += uint32(len(frame))
	n := h.MarshalSize()
	c.pkt = c.pkt[:n]
	if _, err := h.MarshalTo(c.pkt); err != nil {
		return
	}
	c.pkt = append(c.pkt, c.payload...)
	_, _ = c.l.rtp.WriteToUDP(c.pkt, c.remote)
}

// ended reports whether the appliance hung up.
func (c *legCall) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *legCall) release() {
	c.once.Do(func() { close(c.done) })
	c.l.mu.Lock()
	if c.l.cur == c {
		c.l.cur = nil
	}
	c.l.mu.Unlock()
}

// bye hangs up from the line's side. Teardown that must finish: it runs on its own deadline.
func (c *legCall) bye() {
	defer c.release()
	if c.ended() || c.dc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.dc.Bye(ctx); err != nil {
		c.l.log.Debug("fxo BYE", "port", c.l.cfg.Port, "err", err)
	}
}

func (l *leg) current() *legCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

func (l *leg) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := l.current()
	if c == nil || c.dc == nil || req.CallID() == nil || string(*req.CallID()) != c.callID {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = c.dc.ReadBye(req, tx)
	c.release()
}

// onReInvite accepts the appliance's re-INVITEs (hold, session refresh) as they are: the line
// keeps sending audio; the appliance decides what to forward.
func (l *leg) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	c := l.current()
	if to := req.To(); c == nil || to == nil || req.CallID() == nil || string(*req.CallID()) != c.callID {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	_ = tx.Respond(sip.NewSDPResponseFromRequest(req, l.offer(2)))
}

// readRTP decodes the appliance's audio to the line.
func (l *leg) readRTP() {
	buf := make([]byte, 1500)
	frame := make([]int16, 0, 4*FrameSamples)
	var p rtp.Packet
	for {
		n, err := l.rtp.Read(buf)
		if err != nil {
			return
		}
		if l.current() == nil || p.Unmarshal(buf[:n]) != nil {
			continue
		}
		codec := g711.Codec(p.PayloadType)
		if (codec != g711.PCMU && codec != g711.PCMA) || len(p.Payload) > cap(frame) {
			continue // telephone-event, comfort noise, or oversized
		}
		frame = codec.Decode(frame[:0], p.Payload)
		_ = l.line.WriteFrame(frame)
	}
}
