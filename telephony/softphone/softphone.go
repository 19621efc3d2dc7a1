package softphone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/ringside/ringside/telephony/g711"
	"github.com/ringside/ringside/telephony/sdp"
)

// Phone is a minimal SIP phone on one UDP socket.
type Phone struct {
	UA     *sipgo.UserAgent
	Client *sipgo.Client
	Addr   netip.AddrPort
	User   string
	Pass   string
	dua    sipgo.DialogUA

	// AnswerAfter is how long the phone rings before answering incoming calls; negative: never
	// (it rings until cancelled).
	AnswerAfter time.Duration
	// AnswerDelay, when set, is asked for each incoming call instead of AnswerAfter. Set it before
	// the phone receives calls.
	AnswerDelay func() time.Duration

	contactOverride netip.AddrPort
	// MediaAddr is the RTP address the phone's SDP announces (calls may share one socket).
	MediaAddr netip.AddrPort

	mu       sync.Mutex
	inDlgs   map[string]*InCall
	outDlgs  map[string]*OutCall
	Incoming chan *InCall // answered incoming calls
	Rang     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	pc       net.PacketConn
	wg       sync.WaitGroup
}

// InCall is a call the phone answered.
type InCall struct {
	DS       *sipgo.DialogServerSession
	Remote   sdp.Media
	Answered time.Time
	From     string
	ver      uint64
}

// OutCall is a call the phone placed.
type OutCall struct {
	DC     *sipgo.DialogClientSession
	Remote sdp.Media
}

// New starts a phone listening on ip (UDP, random port). Close stops it.
func New(ip, user, pass string, log *slog.Logger) (*Phone, error) {
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname(ip),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)))
	if err != nil {
		return nil, fmt.Errorf("softphone: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("softphone: %w", err)
	}
	pc, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("softphone: %w", err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientPort(int(addr.Port())), sipgo.WithClientConnectionAddr(addr.String()),
		sipgo.WithClientLogger(log))
	if err != nil {
		pc.Close()
		ua.Close()
		return nil, fmt.Errorf("softphone: %w", err)
	}
	p := &Phone{UA: ua, Client: cli, Addr: addr, User: user, Pass: pass, pc: pc,
		inDlgs: map[string]*InCall{}, outDlgs: map[string]*OutCall{}, Incoming: make(chan *InCall, 16), Rang: make(chan struct{}, 16)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.dua = sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: ip, Port: int(addr.Port())}}}
	srv.OnInvite(p.onInvite)
	srv.OnAck(p.onAck)
	srv.OnBye(p.onBye)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	p.wg.Add(1)
	go func() { defer p.wg.Done(); _ = srv.ServeUDP(pc) }()
	// Requests must leave from the listening socket (the registrar sees the right source), and the
	// transport only knows that socket once Serve registered it.
	for deadline := time.Now().Add(2 * time.Second); ; {
		if c, err := ua.TransportLayer().GetConnection("udp", addr.String()); err == nil && c != nil {
			break
		}
		if time.Now().After(deadline) {
			p.Close()
			return nil, fmt.Errorf("softphone: listener not registered")
		}
		time.Sleep(time.Millisecond)
	}
	return p, nil
}

// Close stops the phone and waits for its goroutines.
func (p *Phone) Close() {
	p.cancel()
	p.pc.Close()
	_ = p.UA.Close()
	p.wg.Wait()
}

// Contact is the phone's SIP URI.
func (p *Phone) Contact() string { return fmt.Sprintf("sip:%s@%s", p.User, p.Addr) }

// Register registers to registrar (host:port) for expires seconds, answering a digest challenge.
// It returns the final status code.
func (p *Phone) Register(ctx context.Context, registrar string, expires int) (int, error) {
	host, port, _ := net.SplitHostPort(registrar)
	pn, _ := strconv.Atoi(port)
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host, Port: pn})
	aor := sip.Uri{Scheme: "sip", User: p.User, Host: host}
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}})
	req.AppendHeader(&sip.ToHeader{Address: aor})
	ca := p.Addr
	if p.contactOverride.IsValid() {
		ca = p.contactOverride
	}
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.User, Host: ca.Addr().String(), Port: int(ca.Port())}})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	res, err := p.Client.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = p.Client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.User, Password: p.Pass})
		if err != nil {
			return 0, err
		}
	}
	return res.StatusCode, nil
}

// Offer is the phone's SDP with direction dir.
func (p *Phone) Offer(dir sdp.Direction, ver uint64) []byte {
	return sdp.Local{Addr: p.MediaAddr, Codec: g711.PCMU, TelephoneEvent: 101, Direction: dir, SessionID: 99, Version: ver}.Marshal()
}

// Call places a call to target (a sip: URI) and waits for the answer (ctx bounds it).
func (p *Phone) Call(ctx context.Context, target string, body []byte, headers ...sip.Header) (*OutCall, error) {
	var u sip.Uri
	if err := sip.ParseUri(target, &u); err != nil {
		return nil, err
	}
	hs := append([]sip.Header{sip.NewHeader("Content-Type", "application/sdp")}, headers...)
	dc, err := p.dua.Invite(ctx, u, body, hs...)
	if err != nil {
		return nil, err
	}
	if err := dc.WaitAnswer(ctx, sipgo.AnswerOptions{Username: p.User, Password: p.Pass}); err != nil {
		return nil, err
	}
	if err := dc.Ack(ctx); err != nil {
		return nil, err
	}
	m, err := sdp.Parse(dc.InviteResponse.Body())
	if err != nil {
		return nil, err
	}
	oc := &OutCall{DC: dc, Remote: m}
	p.mu.Lock()
	p.outDlgs[dc.ID] = oc
	p.mu.Unlock()
	return oc, nil
}

func (p *Phone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			_ = tx.Respond(sip.NewSDPResponseFromRequest(req, p.Offer(sdp.SendRecv, 9)))
			return
		}
	}
	ds, err := p.dua.ReadInvite(req, tx)
	if err != nil {
		return
	}
	m, err := sdp.Parse(req.Body())
	if err != nil {
		_ = ds.Respond(488, "Not Acceptable Here", nil)
		return
	}
	_ = ds.Respond(180, "Ringing", nil)
	select {
	case p.Rang <- struct{}{}:
	default:
	}
	delay := p.AnswerAfter
	if p.AnswerDelay != nil {
		delay = p.AnswerDelay()
	}
	if delay < 0 {
		select {
		case <-ds.Context().Done():
		case <-p.ctx.Done():
		}
		return
	}
	select {
	case <-time.After(delay):
	case <-ds.Context().Done():
		return
	case <-p.ctx.Done():
		return
	}
	ic := &InCall{DS: ds, Remote: m, From: req.From().Address.User}
	p.mu.Lock()
	p.inDlgs[ds.ID] = ic
	p.mu.Unlock()
	if err := ds.RespondSDP(p.Offer(sdp.SendRecv, 1)); err != nil {
		return
	}
	ic.Answered = time.Now()
	select {
	case p.Incoming <- ic:
	case <-p.ctx.Done():
	}
}

func (p *Phone) onAck(req *sip.Request, tx sip.ServerTransaction) {
	id, _ := sip.DialogIDFromRequestUAS(req)
	p.mu.Lock()
	ic := p.inDlgs[id]
	p.mu.Unlock()
	if ic != nil {
		_ = ic.DS.ReadAck(req, tx)
	}
}

func (p *Phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	id, _ := sip.DialogIDFromRequestUAS(req)
	p.mu.Lock()
	ic := p.inDlgs[id]
	p.mu.Unlock()
	if ic != nil {
		_ = ic.DS.ReadBye(req, tx)
		return
	}
	id, _ = sip.DialogIDFromRequestUAC(req)
	p.mu.Lock()
	oc := p.outDlgs[id]
	p.mu.Unlock()
	if oc != nil {
		_ = oc.DC.ReadBye(req, tx)
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
}

// Hold sends a re-INVITE on an answered incoming call with direction dir (sendonly to hold,
// sendrecv to resume) and ACKs the 200. It returns the answer's direction.
func (p *Phone) Hold(ctx context.Context, ic *InCall, dir sdp.Direction) (sdp.Direction, error) {
	ic.ver++
	req := sip.NewRequest(sip.INVITE, ic.DS.InviteRequest.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(p.Offer(dir, ic.ver+1))
	req.SetDestination(ic.DS.InviteRequest.Source())
	res, err := ic.DS.Do(ctx, req)
	if err != nil {
		return "", err
	}
	if res.StatusCode != 200 {
		return "", fmt.Errorf("re-INVITE: %d", res.StatusCode)
	}
	ack := sip.NewRequest(sip.ACK, ic.DS.InviteRequest.Contact().Address)
	ack.SetDestination(ic.DS.InviteRequest.Source())
	if err := ic.DS.WriteRequest(ack); err != nil {
		return "", err
	}
	m, err := sdp.Parse(res.Body())
	if err != nil {
		return "", err
	}
	return m.Direction, nil
}

// ErrNoCall is returned by WaitIncoming on timeout.
var ErrNoCall = errors.New("siptest: no incoming call")

// WaitIncoming waits for the next answered call.
func (p *Phone) WaitIncoming(d time.Duration) (*InCall, error) {
	select {
	case ic := <-p.Incoming:
		return ic, nil
	case <-time.After(d):
		return nil, ErrNoCall
	}
}

// RegisterFor registers the phone's user with another contact address (a sipp process acting as
// this user's phone), answering the digest challenge.
func (p *Phone) RegisterFor(ctx context.Context, registrar string, contact netip.AddrPort, expires int) (int, error) {
	saved := p.contactOverride
	p.contactOverride = contact
	defer func() { p.contactOverride = saved }()
	return p.Register(ctx, registrar, expires)
}
