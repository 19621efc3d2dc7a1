package pbx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/ringside/ringside/telephony/acd"
	"github.com/ringside/ringside/telephony/media"
)

// queueRuntime is a queue with its audio loaded.
type queueRuntime struct {
	cfg                                    Queue
	music, greeting, announcement, closing *media.Clip
}

// Server is the SIP side of the appliance.
type Server struct {
	cfg    Config
	router Router
	sink   EventSink
	log    *slog.Logger
	clock  Clock

	ua       *sipgo.UserAgent
	srv      *sipgo.Server
	client   *sipgo.Client
	dialogUA *sipgo.DialogUA
	contact  sip.ContactHeader
	engine   *acd.Engine
	ports    *media.Ports
	guard    *guard
	nonces   *nonces
	reg      *registrar
	queues   map[string]*queueRuntime
	agents   map[string]AgentAccount // by username
	agentIDs map[string]string       // agent id -> username
	lines    map[string]LineAccount  // by username
	tapFor   atomic.Pointer[func(callID string) media.Tap]

	mu            sync.Mutex
	calls         map[string]*call // by our call id
	callerDialogs map[string]*call // by UAS dialog id
	agentDialogs  map[string]*leg  // by UAC dialog id
	lineCalls     map[string]int
	gaveUp        map[string]*sip.Request // INVITEs of legs we gave up on, by Call-ID, for late finals
	bgStopped     bool                    // Run is waiting for bgWG: no new background work
	draining      bool
	runCtx        context.Context

	night   atomic.Bool
	ready   chan struct{}
	callsWG sync.WaitGroup // call goroutines
	bgWG    sync.WaitGroup // teardown work (stray BYEs); add to it through background
	invites txTable        // INVITE server transactions by source, to silence a banned one
	conns   *connTable     // TCP and TLS connections by source
}

// New builds the server; Run starts it.
func New(cfg Config, router Router, sink EventSink, log *slog.Logger, clock Clock) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, router: router, sink: sink, log: log, clock: clock,
		queues: map[string]*queueRuntime{}, agents: map[string]AgentAccount{}, agentIDs: map[string]string{}, lines: map[string]LineAccount{},
		calls: map[string]*call{}, callerDialogs: map[string]*call{}, agentDialogs: map[string]*leg{},
		lineCalls: map[string]int{}, gaveUp: map[string]*sip.Request{}, ready: make(chan struct{})}
	for _, a := range cfg.Agents {
		s.agents[a.Username] = a
		s.agentIDs[a.ID] = a.Username
	}
	for _, l := range cfg.Lines {
		s.lines[l.Username] = l
	}
	def := media.DefaultTune()
	var aq []acd.QueueConfig
	for _, q := range cfg.Queues {
		qr := &queueRuntime{cfg: q, music: def}
		for _, f := range []struct {
			path string
			dst  **media.Clip
			key  string
		}{{q.HoldMusic, &qr.music, "hold_music"}, {q.Greeting, &qr.greeting, "greeting"},
			{q.Announcement, &qr.announcement, "announcement"}, {q.ClosedMessage, &qr.closing, "closed_message"}} {
			if f.path == "" {
				continue
			}
			c, err := media.LoadWAV(f.path)
			if err != nil {
				return nil, fmt.Errorf("%w: queues[%s].%s: %w", ErrConfig, q.Name, f.key, err)
			}
			*f.dst = c
		}
		s.queues[q.Name] = qr
		aq = append(aq, acd.QueueConfig{Name: q.Name, Strategy: q.Strategy, Members: q.Members, WrapUp: q.WrapUp, MaxCallers: q.MaxCallers})
	}
	s.engine, err = acd.New(aq, clock, s.onACD)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	s.ports, err = media.NewPorts(cfg.PublicAddr, cfg.RTPPortMin, cfg.RTPPortMax)
	if err != nil {
		return nil, fmt.Errorf("%w: rtp ports: %w", ErrConfig, err)
	}
	s.nonces = newNonces(clock, cfg.NonceTTL)
	s.reg = newRegistrar(clock)
	s.conns = newConnTable(cfg.TCPIdleTimeout, cfg.TCPMaxConnsPerAddr, func(a netip.Addr) bool { return s.guard.banned(a) }, s.trusted, log)
	s.guard = newGuard(clock, cfg, s.trusted, func(a netip.Addr) {
		log.Warn("source banned", "addr", a.String(), "for", cfg.BanFor)
		s.invites.terminate(a) // no more retransmitted 401s to it
		s.conns.closeAddr(a)
	}, func(a netip.Addr) {
		log.Warn("trusted source over its request budget: dropping, not banning", "addr", a.String())
	})

	parser := sip.NewParser()
	parser.MaxMessageLength = cfg.MaxMessageSize
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent("ringside"),
		sipgo.WithUserAgentHostname(cfg.PublicAddr.String()),
		sipgo.WithUserAgentParser(parser),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(log),
			sip.WithTransportLayerReadFilter(s.readFilter)),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(log),
			sip.WithTransactionLayerUnhandledResponseHandler(s.strayResponse)),
	)
	if err != nil {
		return nil, fmt.Errorf("pbx: user agent: %w", err)
	}
	s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(log))
	if err != nil {
		return nil, fmt.Errorf("pbx: server: %w", err)
	}
	s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(log), sipgo.WithClientHostname(cfg.PublicAddr.String()))
	if err != nil {
		return nil, fmt.Errorf("pbx: client: %w", err)
	}
	s.srv.OnRegister(s.guarded(s.onRegister))
	s.srv.OnOptions(s.guarded(s.onOptions))
	s.srv.OnInvite(s.guarded(s.onInvite))
	s.srv.OnAck(s.onAck)
	s.srv.OnBye(s.guarded(s.onBye))
	s.srv.OnCancel(func(*sip.Request, sip.ServerTransaction) {}) // the transaction layer answers CANCEL
	s.srv.OnNoRoute(s.guarded(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, sip.StatusMethodNotAllowed, "Method Not Allowed", nil)
		res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER"))
		_ = tx.Respond(res)
	}))
	return s, nil
}

// SetTap installs a factory for per-call media taps (recording, RTP statistics). Call before Run.
func (s *Server) SetTap(f func(callID string) media.Tap) { s.tapFor.Store(&f) }

// Ready is closed once every listener is bound.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// SetNightMode sends every new call to its queue's closed treatment while on.
func (s *Server) SetNightMode(on bool) { s.night.Store(on) }

// readFilter runs on the transport's read goroutine before parsing: banned or flooding sources
// and oversize messages are dropped here, before they cost a parse.
func (s *Server) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if ap, err := netip.ParseAddrPort(info.RemoteAddr.String()); err == nil && !s.guard.allow(ap.Addr()) {
		return nil, nil
	}
	if len(data) > s.cfg.MaxMessageSize && info.Transport != "TCP" && info.Transport != "TLS" {
		return nil, nil // the parser refuses it anyway; stream transports are limited by the parser
	}
	return data, nil
}

// guarded refuses requests from banned sources, oversize requests (513, RFC 3261 21.5.11) and
// requests checkRequest refuses (400, 416, 420).
func (s *Server) guarded(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		a := srcAddr(req)
		if a.IsValid() && s.guard.banned(a) {
			return // silence: a banned scanner learns nothing
		}
		if req.IsInvite() {
			s.invites.add(a, tx)
		}
		if len(req.Body()) > s.cfg.MaxMessageSize/2 {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 513, "Message Too Large", nil))
			return
		}
		var bad *badRequest
		if err := checkRequest(req); errors.As(err, &bad) {
			s.log.Debug("request refused", "addr", a.String(), "code", bad.code, "reason", bad.reason)
			_ = tx.Respond(bad.response(req))
			return
		}
		h(req, tx)
	}
}

// trusted reports whether a is a trunk's address or the source of a live registration.
func (s *Server) trusted(a netip.Addr) bool {
	for _, t := range s.cfg.Trunks {
		for _, p := range t.Sources {
			if p.Contains(a) {
				return true
			}
		}
	}
	return s.reg.registeredFrom(a)
}

func srcAddr(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Run binds the listeners and serves until ctx ends; then it releases every call (BYE both sides)
// and returns once they are recorded.
func (s *Server) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	s.restoreRegistrations(ctx) // before any REGISTER or INVITE can arrive
	var serveWG sync.WaitGroup
	errc := make(chan error, len(s.cfg.Listeners))
	for i, l := range s.cfg.Listeners {
		switch l.Network {
		case "udp":
			pc, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				return fmt.Errorf("pbx: listeners[%d]: %w", i, err)
			}
			closers = append(closers, pc.Close)
			s.setContact(pc.LocalAddr(), "udp")
			serveWG.Add(1)
			go func() { defer serveWG.Done(); errc <- s.srv.ServeUDP(pc) }()
		case "tcp", "tls":
			ln, err := net.Listen("tcp", l.Addr)
			if err != nil {
				return fmt.Errorf("pbx: listeners[%d]: %w", i, err)
			}
			if l.Network == "tls" {
				cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
				if err != nil {
					ln.Close()
					return fmt.Errorf("pbx: listeners[%d]: %w", i, err)
				}
				ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
			}
			ln = s.conns.listen(ln)
			closers = append(closers, ln.Close)
			s.setContact(ln.Addr(), l.Network)
			serveWG.Add(1)
			go func() {
				defer serveWG.Done()
				if l.Network == "tls" {
					errc <- s.srv.ServeTLS(ln)
				} else {
					errc <- s.srv.ServeTCP(ln)
				}
			}()
		}
	}
	s.mu.Lock()
	s.dialogUA = &sipgo.DialogUA{Client: s.client, ContactHDR: s.contact}
	s.runCtx = runCtx // from here on INVITEs are taken (onInvite checks runCtx under mu)
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("sip listening", "listeners", len(s.cfg.Listeners))

	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	var err error
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case e := <-errc:
			if e != nil && !errors.Is(e, net.ErrClosed) {
				err = fmt.Errorf("pbx: listener: %w", e)
				break loop
			}
		case <-sweep.C:
			for _, user := range s.reg.sweep() {
				if a, ok := s.agents[user]; ok {
					s.engine.SetLoggedIn(a.ID, false)
				}
			}
		}
	}
	cancel() // calls see runCtx end and release themselves
	waitTimeout(&s.callsWG, 10*time.Second)
	s.mu.Lock()
	s.bgStopped = true
	s.mu.Unlock()
	waitTimeout(&s.bgWG, 5*time.Second)
	for _, c := range closers {
		_ = c()
	}
	closers = nil
	_ = s.ua.Close()
	waitTimeout(&serveWG, 5*time.Second)
	s.engine.Close()
	return err
}

// waitTimeout waits for wg at most d (teardown must not hang on a peer that never answers).
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func (s *Server) setContact(a net.Addr, network string) {
	if s.contact.Address.Host != "" && network != "udp" {
		return // prefer the UDP listener for our Contact
	}
	_, port, _ := net.SplitHostPort(a.String())
	p, _ := strconv.Atoi(port)
	s.contact = sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "ringside", Host: s.cfg.PublicAddr.String(), Port: p}}
	if network != "udp" {
		s.contact.Address.UriParams = sip.NewParams()
		s.contact.Address.UriParams.Add("transport", network)
	}
}

// Drain stops taking new calls (503) and waits for live calls to end, up to ctx's deadline.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.callsWG.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pbx: drain: %w", ctx.Err())
	}
}

func (s *Server) publish(e Event) {
	if e.At.IsZero() {
		e.At = s.clock.Now()
	}
	s.sink.Publish(e)
}

func (s *Server) onACD(c acd.Change) {
	if c.Agent != "" {
		s.publish(Event{Kind: AgentChanged, Agent: c.Agent, AgentState: string(c.State), At: c.At})
		return
	}
	s.publish(Event{Kind: QueueDepth, Queue: c.Queue, Depth: c.Depth, At: c.At})
}

// challenge sends 401 with a fresh nonce.
func (s *Server) challenge(req *sip.Request, tx sip.ServerTransaction, stale bool) {
	res := sip.NewResponseFromRequest(req, sip.StatusUnauthorized, "Unauthorized", nil)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", s.nonces.challenge(s.cfg.Realm, stale).String()))
	_ = tx.Respond(res)
}

func (s *Server) authHeader(req *sip.Request) string {
	if h := req.GetHeader("Authorization"); h != nil {
		return h.Value()
	}
	if h := req.GetHeader("Proxy-Authorization"); h != nil {
		return h.Value()
	}
	return ""
}

func (s *Server) password(user string) (string, bool) {
	if a, ok := s.agents[user]; ok {
		return a.Password, true
	}
	if l, ok := s.lines[user]; ok {
		return l.Password, true
	}
	return "", false
}

// onRegister is the registrar (RFC 3261 section 10.3).
func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	src := srcAddr(req)
	user, res := s.nonces.verify(s.authHeader(req), "REGISTER", s.cfg.Realm, s.password)
	switch res {
	case authMissing:
		s.challenge(req, tx, false)
		return
	case authStale:
		s.challenge(req, tx, true)
		return
	case authBad:
		s.guard.authFailed(src)
		s.log.Info("register refused", "addr", src.String(), "user", sanitizeNumber(user))
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return
	}
	to := req.To()
	if to == nil || to.Address.User != user {
		s.guard.authFailed(src)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return
	}
	s.guard.authOK(src)
	expires := s.cfg.MaxExpires
	if h := req.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			expires = time.Duration(n) * time.Second
		}
	}
	contact := req.Contact()
	if contact != nil {
		if v, ok := contact.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil {
				expires = time.Duration(n) * time.Second
			}
		}
	}
	agent, isAgent := s.agents[user]
	if contact == nil || expires == 0 || contact.Address.Wildcard {
		// Unregister (expires 0 or Contact: *), or a query without Contact.
		if contact != nil {
			if s.reg.remove(user) && isAgent {
				s.engine.SetLoggedIn(agent.ID, false)
			}
			s.forgetRegistration(user)
		}
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		if bd, ok := s.reg.get(user); ok && contact == nil {
			c := sip.ContactHeader{Address: bd.contact}
			res.AppendHeader(&c)
		}
		_ = tx.Respond(res)
		return
	}
	if expires < s.cfg.MinExpires {
		res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(s.cfg.MinExpires.Seconds()))))
		_ = tx.Respond(res)
		return
	}
	expires = min(expires, s.cfg.MaxExpires)
	now := s.clock.Now()
	bd := binding{contact: *contact.Address.Clone(), source: req.Source(), transport: req.Transport(), expires: now.Add(expires)}
	s.reg.set(user, bd)
	s.saveRegistration(user, bd, now, expires) // before the 200: an acknowledged binding survives a restart
	if isAgent {
		s.engine.SetLoggedIn(agent.ID, true)
	}
	res200 := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	c := sip.ContactHeader{Address: *contact.Address.Clone(), Params: sip.NewParams()}
	c.Params.Add("expires", strconv.Itoa(int(expires.Seconds())))
	res200.AppendHeader(&c)
	_ = tx.Respond(res200)
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER"))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	_ = tx.Respond(res)
}

func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return
	}
	s.mu.Lock()
	c := s.callerDialogs[id]
	s.mu.Unlock()
	if c != nil {
		_ = c.ds.ReadAck(req, tx)
	}
}

func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		s.mu.Lock()
		c := s.callerDialogs[id]
		s.mu.Unlock()
		if c != nil {
			at := s.clock.Now() // the caller hung up now, whatever the teardown takes
			if err := c.ds.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
				return
			}
			c.markEndAt(at)
			return
		}
	}
	if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
		s.mu.Lock()
		l := s.agentDialogs[id]
		s.mu.Unlock()
		if l != nil {
			at := s.clock.Now()
			if err := l.dc.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
				return
			}
			if c := l.call; c.isBridged(l) {
				c.markEndAt(at) // the agent hung up the call now, whatever the caller's BYE takes
			}
			return
		}
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
}

// strayResponse handles responses no transaction claims. Only dialogs we made are answered: a
// stray 2xx or error for anything else (a forged 200 would make us a reflector, ACK plus BYE and
// its retransmissions) is dropped. A 2xx to an INVITE here is either a bridged leg whose ACK was
// lost, or an agent leg we gave up on (its 200 crossed our CANCEL, or came after the leg gave up
// before the phone said anything): ACK it and hang up (RFC 3261 section 9.1 leaves this to the UAC
// core).
func (s *Server) strayResponse(r *sip.Response) {
	cseq := r.CSeq()
	if r.IsProvisional() || cseq == nil || cseq.MethodName != sip.INVITE || r.CallID() == nil {
		return
	}
	if r.IsSuccess() && r.Contact() != nil {
		if id, err := sip.DialogIDFromResponse(r); err == nil {
			s.mu.Lock()
			l := s.agentDialogs[id]
			s.mu.Unlock()
			if l != nil {
				_ = l.dc.Ack(context.Background())
				return
			}
		}
	}
	inv := s.gaveUpInvite(r)
	if inv == nil {
		s.log.Debug("stray response dropped", "addr", r.Source(), "code", r.StatusCode)
		return
	}
	if !r.IsSuccess() {
		// A final error (487 after our CANCEL) for a transaction we already terminated: ACK it
		// (RFC 3261 section 17.1.1.3) so the phone stops retransmitting.
		ack := sip.NewRequest(sip.ACK, *inv.Recipient.Clone())
		ack.AppendHeader(sip.HeaderClone(inv.Via()))
		ack.AppendHeader(sip.HeaderClone(inv.From()))
		ack.AppendHeader(sip.HeaderClone(r.To()))
		ack.AppendHeader(sip.HeaderClone(inv.CallID()))
		ack.AppendHeader(&sip.CSeqHeader{SeqNo: cseq.SeqNo, MethodName: sip.ACK})
		mf := sip.MaxForwardsHeader(70)
		ack.AppendHeader(&mf)
		ack.SetTransport(inv.Transport())
		ack.SetDestination(r.Source())
		ack.SetBody(nil)
		_ = s.client.WriteRequest(ack)
		return
	}
	if r.Contact() == nil {
		return
	}
	s.background(func() { s.ackAndBye(r) })
}

// gaveUpInvite returns the INVITE of a leg we gave up on that r answers: same Call-ID, From tag
// (both random, chosen by us) and CSeq number. Nil for anything else.
func (s *Server) gaveUpInvite(r *sip.Response) *sip.Request {
	s.mu.Lock()
	inv := s.gaveUp[string(*r.CallID())]
	s.mu.Unlock()
	if inv == nil || r.From() == nil || inv.CSeq() == nil || r.CSeq().SeqNo != inv.CSeq().SeqNo {
		return nil
	}
	ours, _ := inv.From().Params.Get("tag")
	theirs, _ := r.From().Params.Get("tag")
	if ours == "" || ours != theirs {
		return nil
	}
	return inv
}

// gaveUpMemory is how long the INVITE of a leg we gave up on is kept for a late 487 or 200: the
// CANCEL's own transaction (at most 4 s here) and then some.
const gaveUpMemory = 15 * time.Second

// rememberGaveUp keeps the INVITE of a leg we gave up on for a while, so that a late final response
// to it can be ACKed (and a 200 hung up) by strayResponse, then forgets it.
func (s *Server) rememberGaveUp(inv *sip.Request) {
	if inv == nil || inv.CallID() == nil {
		return
	}
	key := string(*inv.CallID())
	s.mu.Lock()
	s.gaveUp[key] = inv
	s.mu.Unlock()
	s.background(func() {
		select {
		case <-time.After(gaveUpMemory):
		case <-s.runCtxOrBackground().Done():
		}
		s.mu.Lock()
		if s.gaveUp[key] == inv {
			delete(s.gaveUp, key)
		}
		s.mu.Unlock()
	})
}

// background runs f on a goroutine that Run waits for; once Run has begun waiting, f is dropped
// (sync.WaitGroup forbids Add concurrent with Wait at zero).
func (s *Server) background(f func()) {
	s.mu.Lock()
	if s.bgStopped {
		s.mu.Unlock()
		return
	}
	s.bgWG.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.bgWG.Done()
		f()
	}()
}

// cancelLeg sends CANCEL for a ringing leg that gave up (RFC 3261 section 9.1), on a goroutine the
// server owns, and remembers the INVITE for a while so that late final responses can be ACKed.
func (s *Server) cancelLeg(dc *sipgo.DialogClientSession) {
	inv := dc.InviteRequest
	if inv == nil || inv.CallID() == nil || inv.Via() == nil {
		return
	}
	cancelReq := sip.NewRequest(sip.CANCEL, *inv.Recipient.Clone())
	cancelReq.AppendHeader(sip.HeaderClone(inv.Via()))
	cancelReq.AppendHeader(sip.HeaderClone(inv.From()))
	cancelReq.AppendHeader(sip.HeaderClone(inv.To()))
	cancelReq.AppendHeader(sip.HeaderClone(inv.CallID()))
	cancelReq.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	cancelReq.AppendHeader(&mf)
	cancelReq.SetTransport(inv.Transport())
	cancelReq.SetBody(nil)
	cancelReq.SetDestination(inv.Destination())
	cancelReq.Laddr = inv.Laddr
	s.rememberGaveUp(inv)
	s.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second) // owned by the server
		defer cancel()
		if _, err := s.client.Do(ctx, cancelReq); err != nil {
			s.log.Debug("cancel leg", "err", err)
		}
	})
}

// ackAndBye confirms and immediately ends the dialog a stray 2xx created.
func (s *Server) ackAndBye(r *sip.Response) {
	target := r.Contact().Address
	mk := func(m sip.RequestMethod, seq uint32) *sip.Request {
		req := sip.NewRequest(m, *target.Clone())
		req.AppendHeader(sip.HeaderClone(r.From()))
		req.AppendHeader(sip.HeaderClone(r.To()))
		cid := *r.CallID()
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: m})
		mf := sip.MaxForwardsHeader(70)
		req.AppendHeader(&mf)
		req.SetDestination(r.Source())
		req.SetTransport(r.Transport())
		req.SetBody(nil) // Content-Length: 0
		return req
	}
	seq := r.CSeq().SeqNo
	if err := s.client.WriteRequest(mk(sip.ACK, seq), sipgo.ClientRequestAddVia); err != nil {
		s.log.Debug("stray ack", "err", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout) // teardown owned by the server
	defer cancel()
	bye := mk(sip.BYE, seq+1)
	if _, err := s.client.Do(ctx, bye, sipgo.ClientRequestAddVia); err != nil {
		s.log.Debug("stray bye", "err", err)
	}
}

// newSessionID returns a random SDP session id (RFC 4566 o= recommends an NTP timestamp or random).
func newSessionID() uint64 { return rand.Uint64() >> 2 }
