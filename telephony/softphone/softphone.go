// Package softphone is a small SIP phone built on sipgo: it registers with digest auth, places and
// answers calls with a G.711 SDP offer/answer (RFC 3264), sends 20 ms RTP audio (RFC 3550, 3551)
// from its own socket and counts what it receives, puts a call on hold by re-INVITE (sendonly /
// sendrecv, RFC 3264 section 8.4), and hangs up. `ringside demo`'s traffic simulator runs callers
// and agents' desk phones on it; tests use it as a real peer beside sipp and baresip.
//
// One Phone handles one call at a time, which is what a desk phone or a caller does.
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
	"github.com/ringside/ringside/telephony/media"
	"github.com/ringside/ringside/telephony/sdp"
)

// ErrBusy: the phone already has a call.
var ErrBusy = errors.New("softphone: already on a call")

// Config describes one phone.
type Config struct {
	IP       netip.Addr // address to bind SIP and RTP to (a loopback address in tests and the demo)
	User     string
	Password string
	// AnswerAfter decides, for each incoming call, how long it rings before the phone answers;
	// a negative value lets it ring until cancelled. Nil answers at once.
	AnswerAfter func() time.Duration
	// Audio is what the phone sends while a call is up (looped); nil sends the built-in tune.
	Audio *media.Clip
	Log   *slog.Logger
}

// Phone is one SIP endpoint with one RTP socket.
type Phone struct {
	cfg    Config
	log    *slog.Logger
	ua     *sipgo.UserAgent
	client *sipgo.Client
	dua    sipgo.DialogUA
	sipPC  net.PacketConn
	rtp    *net.UDPConn
	addr   netip.AddrPort

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	current  *Call
	incoming chan *Call
}

// New starts a phone listening on cfg.IP (UDP, a free port for SIP and one for RTP).
func New(cfg Config) (*Phone, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	quiet := slog.New(slog.DiscardHandler)
	ip := cfg.IP.String()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cfg.User), sipgo.WithUserAgentHostname(ip),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		return nil, fmt.Errorf("softphone %s: %w", cfg.User, err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("softphone %s: %w", cfg.User, err)
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("softphone %s: SIP socket: %w", cfg.User, err)
	}
	rtpConn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(cfg.IP, 0)))
	if err != nil {
		pc.Close()
		ua.Close()
		return nil, fmt.Errorf("softphone %s: RTP socket: %w", cfg.User, err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip), sipgo.WithClientPort(int(addr.Port())),
		sipgo.WithClientConnectionAddr(addr.String()), sipgo.WithClientLogger(quiet))
	if err != nil {
		pc.Close()
		rtpConn.Close()
		ua.Close()
		return nil, fmt.Errorf("softphone %s: %w", cfg.User, err)
	}
	p := &Phone{cfg: cfg, log: cfg.Log, ua: ua, client: client, sipPC: pc, rtp: rtpConn, addr: addr,
		incoming: make(chan *Call, 1)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.dua = sipgo.DialogUA{Client: client, ContactHDR: sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: cfg.User, Host: ip, Port: int(addr.Port())}}}
	srv.OnInvite(p.onInvite)
	srv.OnAck(p.onAck)
	srv.OnBye(p.onBye)
	srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {}) // sipgo answers CANCEL in the transaction layer
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	p.wg.Go(func() { _ = srv.ServeUDP(pc) })
	p.wg.Go(p.readRTP)
	// Requests must leave from the listening socket: wait until the transport knows it.
	for deadline := time.Now().Add(2 * time.Second); ; {
		if c, err := ua.TransportLayer().GetConnection("udp", addr.String()); err == nil && c != nil {
			break
		}
		if time.Now().After(deadline) {
			p.Close()
			return nil, fmt.Errorf("softphone %s: SIP listener did not start", cfg.User)
		}
		time.Sleep(time.Millisecond)
	}
	return p, nil
}

// Close hangs up and stops the phone.
func (p *Phone) Close() error {
	p.cancel()
	if c := p.Current(); c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.Hangup(ctx)
		cancel()
	}
	p.sipPC.Close()
	p.rtp.Close()
	err := p.ua.Close()
	p.wg.Wait()
	return err
}

// Addr is the phone's SIP address.
func (p *Phone) Addr() netip.AddrPort { return p.addr }

// RTPAddr is where the phone receives audio.
func (p *Phone) RTPAddr() netip.AddrPort { return p.rtp.LocalAddr().(*net.UDPAddr).AddrPort() }

// Current is the call in progress, or nil.
func (p *Phone) Current() *Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.current
}

// Incoming delivers each call the phone answered.
func (p *Phone) Incoming() <-chan *Call { return p.incoming }

// Register registers the phone's user at registrar (host:port) for expires seconds, answering the
// digest challenge. It returns the final status code.
func (p *Phone) Register(ctx context.Context, registrar netip.AddrPort, expires int) (int, error) {
	host := registrar.Addr().String()
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host, Port: int(registrar.Port())})
	aor := sip.Uri{Scheme: "sip", User: p.cfg.User, Host: host}
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}})
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.cfg.User, Host: p.addr.Addr().String(), Port: int(p.addr.Port())}})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	res, err := p.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("register %s: %w", p.cfg.User, err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		res, err = p.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.cfg.User, Password: p.cfg.Password})
		if err != nil {
			return 0, fmt.Errorf("register %s: %w", p.cfg.User, err)
		}
	}
	return res.StatusCode, nil
}

func (p *Phone) offer(dir sdp.Direction, version uint64) []byte {
	return sdp.Local{Addr: p.RTPAddr(), Codec: g711.PCMU, TelephoneEvent: 101, Direction: dir, SessionID: 1, Version: version}.Marshal()
}

// Dial calls target (a sip: URI) and returns once the call is answered (ctx bounds the wait).
func (p *Phone) Dial(ctx context.Context, target string) (*Call, error) {
	var u sip.Uri
	if err := sip.ParseUri(target, &u); err != nil {
		return nil, fmt.Errorf("dial %q: %w", target, err)
	}
	c := &Call{phone: p, done: make(chan struct{})}
	if !p.claim(c) {
		return nil, ErrBusy
	}
	dc, err := p.dua.Invite(ctx, u, p.offer(sdp.SendRecv, 1), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		p.release(c)
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	if err := dc.WaitAnswer(ctx, sipgo.AnswerOptions{Username: p.cfg.User, Password: p.cfg.Password}); err != nil {
		p.release(c)
		return nil, fmt.Errorf("dial %s: %w", target, err)
	}
	if err := dc.Ack(ctx); err != nil {
		p.release(c)
		return nil, fmt.Errorf("dial %s: ACK: %w", target, err)
	}
	m, err := sdp.Parse(dc.InviteResponse.Body())
	if err != nil {
		_ = dc.Bye(ctx)
		p.release(c)
		return nil, fmt.Errorf("dial %s: answer SDP: %w", target, err)
	}
	c.dc, c.remote = dc, m.Addr
	c.start()
	return c, nil
}

func (p *Phone) claim(c *Call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current != nil {
		return false
	}
	p.current = c
	return true
}

func (p *Phone) release(c *Call) {
	p.mu.Lock()
	if p.current == c {
		p.current = nil
	}
	p.mu.Unlock()
}

func (p *Phone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			// A re-INVITE from the far end (session refresh or hold): accept it as it is.
			_ = tx.Respond(sip.NewSDPResponseFromRequest(req, p.offer(sdp.SendRecv, 9)))
			return
		}
	}
	c := &Call{phone: p, done: make(chan struct{})}
	if !p.claim(c) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
		return
	}
	ds, err := p.dua.ReadInvite(req, tx)
	if err != nil {
		p.release(c)
		return
	}
	m, err := sdp.Parse(req.Body())
	if err != nil {
		_ = ds.Respond(488, "Not Acceptable Here", nil)
		p.release(c)
		return
	}
	_ = ds.Respond(180, "Ringing", nil)
	wait := time.Duration(0)
	if p.cfg.AnswerAfter != nil {
		wait = p.cfg.AnswerAfter()
	}
	var ring <-chan time.Time // nil: ring until cancelled
	if wait >= 0 {
		ring = time.After(wait)
	}
	select {
	case <-ring:
	case <-ds.Context().Done():
		p.release(c)
		return
	case <-p.ctx.Done():
		_ = ds.Respond(480, "Temporarily Unavailable", nil)
		p.release(c)
		return
	}
	c.ds, c.remote = ds, m.Addr
	if err := ds.RespondSDP(p.offer(sdp.SendRecv, 1)); err != nil {
		p.release(c)
		return
	}
	c.start()
	select {
	case p.incoming <- c:
	default:
	}
	// Keep the handler (and so the transaction) alive until the call ends.
	select {
	case <-c.done:
	case <-p.ctx.Done():
	}
}

func (p *Phone) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := p.Current(); c != nil && c.ds != nil {
		_ = c.ds.ReadAck(req, tx)
	}
}

func (p *Phone) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := p.Current()
	switch {
	case c != nil && c.ds != nil:
		_ = c.ds.ReadBye(req, tx)
	case c != nil && c.dc != nil:
		_ = c.dc.ReadBye(req, tx)
	default:
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		return
	}
	c.end()
}

// readRTP counts the audio the phone receives.
func (p *Phone) readRTP() {
	buf := make([]byte, 1500)
	for {
		n, err := p.rtp.Read(buf)
		if err != nil {
			return
		}
		if n > 12 {
			if c := p.Current(); c != nil {
				c.mu.Lock()
				c.received++
				c.mu.Unlock()
			}
		}
	}
}

// Call is one call in progress on a phone.
type Call struct {
	phone  *Phone
	dc     *sipgo.DialogClientSession // calls this phone placed
	ds     *sipgo.DialogServerSession // calls this phone answered
	remote netip.AddrPort

	player *media.Player
	stop   context.CancelFunc
	once   sync.Once
	done   chan struct{}

	mu       sync.Mutex
	received int
	version  uint64
}

func (c *Call) start() {
	audio := c.phone.cfg.Audio
	if audio == nil {
		audio = media.DefaultTune()
	}
	dst := net.UDPAddrFromAddrPort(c.remote)
	c.player = media.NewPlayer(func(pkt []byte) error {
		_, err := c.phone.rtp.WriteToUDP(pkt, dst)
		return err
	}, g711.PCMU, audio)
	c.player.SetEnabled(true)
	ctx, cancel := context.WithCancel(c.phone.ctx)
	c.stop = cancel
	c.phone.wg.Go(func() { c.player.Run(ctx) })
}

func (c *Call) end() {
	c.once.Do(func() {
		if c.stop != nil {
			c.stop()
		}
		c.phone.release(c)
		close(c.done)
	})
}

// Done is closed when the call has ended, from either side.
func (c *Call) Done() <-chan struct{} { return c.done }

// Received is how many RTP packets have arrived during the call.
func (c *Call) Received() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received
}

// Hangup ends the call with BYE.
func (c *Call) Hangup(ctx context.Context) error {
	defer c.end()
	select {
	case <-c.done:
		return nil
	default:
	}
	if c.dc != nil {
		return c.dc.Bye(ctx)
	}
	if c.ds != nil {
		return c.ds.Bye(ctx)
	}
	return nil
}

// Hold sends a re-INVITE with direction dir (sendonly to hold, sendrecv to resume) on a call the
// phone answered, and ACKs the 200.
func (c *Call) Hold(ctx context.Context, dir sdp.Direction) error {
	if c.ds == nil {
		return errors.New("softphone: hold is only done on answered incoming calls")
	}
	c.mu.Lock()
	c.version++
	v := c.version + 1
	c.mu.Unlock()
	inv := c.ds.InviteRequest
	req := sip.NewRequest(sip.INVITE, inv.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(c.phone.offer(dir, v))
	req.SetDestination(inv.Source())
	res, err := c.ds.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("re-INVITE: %w", err)
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("re-INVITE: %d %s", res.StatusCode, res.Reason)
	}
	ack := sip.NewRequest(sip.ACK, inv.Contact().Address)
	ack.SetDestination(inv.Source())
	if err := c.ds.WriteRequest(ack); err != nil {
		return fmt.Errorf("re-INVITE ACK: %w", err)
	}
	c.player.SetEnabled(dir == sdp.SendRecv)
	return nil
}
