package pbx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/google/uuid"

	"github.com/ringside/ringside/telephony/acd"
	"github.com/ringside/ringside/telephony/g711"
	"github.com/ringside/ringside/telephony/media"
	"github.com/ringside/ringside/telephony/sdp"
)

// call is one inbound call attempt. Its goroutine is the INVITE handler's; fields below mu are
// shared with the BYE and re-INVITE handlers.
type call struct {
	s       *Server
	id      string
	arrived time.Time
	in      Inbound
	route   Route
	line    string
	counted bool // holds a line/appliance capacity slot

	ds          *sipgo.DialogServerSession
	relay       *media.Relay
	player      *media.Player
	codec       g711.Codec
	te          int
	sessID      uint64
	callerMedia sdp.Media

	mu        sync.Mutex
	localVer  uint64
	bridged   *leg
	agentDir  sdp.Direction
	holdCh    chan sdp.Direction // agent re-INVITE directions, to the call goroutine
	terminal  bool
	queueName string
	ended     time.Time // the moment the call ended (see markEnd); zero while it lasts
	lastAt    time.Time // when the call's latest event happened
}

func (c *call) event(k Kind) Event {
	now := c.s.clock.Now()
	c.mu.Lock()
	c.lastAt = now
	c.mu.Unlock()
	return Event{Kind: k, CallID: c.id, At: now, Mono: now.Sub(c.arrived), Queue: c.queueName}
}

// markEnd records that the call has ended by now (see markEndAt) and returns its end.
func (c *call) markEnd() time.Time { return c.markEndAt(c.s.clock.Now()) }

// markEndAt records that the call had ended at t and returns the moment it ended: the earliest
// mark. The marks are the caller's BYE or CANCEL as it arrives, and our decision to end the call
// (refusal, agent hangup, maximum wait, media timeout, shutdown), taken before any teardown. What
// teardown does later (a ringing phone that never answers our CANCEL holds the call up to
// cancelGrace, a caller who never answers our BYE up to teardownTimeout) does not move it.
func (c *call) markEndAt(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended.IsZero() || t.Before(c.ended) {
		c.ended = t
	}
	return c.ended
}

// isBridged reports whether l is the leg the caller talks to.
func (c *call) isBridged(l *leg) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bridged == l
}

// endEvent is the call's terminal event, stamped at the moment the call ended (markEnd), or at its
// latest event if that came after: a caller's BYE can arrive while the call goroutine still
// publishes (an agent answering in the same instant), and no event may go back in time.
func (c *call) endEvent(k Kind) Event {
	end := c.markEnd()
	c.mu.Lock()
	if end.Before(c.lastAt) {
		end = c.lastAt
	}
	c.lastAt = end
	c.mu.Unlock()
	return Event{Kind: k, CallID: c.id, At: end, Mono: end.Sub(c.arrived), Queue: c.queueName}
}

// finish publishes the call's one terminal event; later calls are ignored.
func (c *call) finish(e Event) {
	c.mu.Lock()
	if c.terminal {
		c.mu.Unlock()
		return
	}
	c.terminal = true
	c.mu.Unlock()
	c.s.publish(e)
}

// refuse answers the INVITE with a final error and publishes the terminal refused event.
func (c *call) refuse(req *sip.Request, tx sip.ServerTransaction, code int, outcome Outcome, reason string) {
	e := c.endEvent(CallRefused)
	res := sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
	if code == 423 || code == 486 || code == 480 {
		res.AppendHeader(sip.NewHeader("Retry-After", "60"))
	}
	if err := tx.Respond(res); err != nil {
		c.s.log.Debug("refuse", "call", c.id, "err", err)
	}
	e.Outcome, e.Reason, e.Code, e.Wait = outcome, reason, code, e.Mono
	c.finish(e)
}

// onInvite handles initial INVITEs (one call each) and re-INVITEs inside our dialogs.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if _, ok := to.Params.Get("tag"); ok {
			s.onReInvite(req, tx)
			return
		}
	}
	// Authorise the source before anything else: a trunk by address, a line by digest. Challenges
	// and refused credentials are not call attempts (they produce no events).
	src := srcAddr(req)
	line := ""
	var ago time.Duration // how long before this INVITE the call began (internal lines only)
	// The box's own analog ports call from loopback, which a trunk may admit too: an INVITE that
	// carries credentials or HeaderArrivedAgo is a line account's and must pass digest auth, even
	// from a trunk's address (a trunk that sends the header only earns itself a challenge).
	if s.authHeader(req) == "" && req.GetHeader(HeaderArrivedAgo) == nil {
		for _, t := range s.cfg.Trunks {
			for _, p := range t.Sources {
				if p.Contains(src) {
					line = t.ID
				}
			}
		}
	}
	if line == "" {
		user, res := s.nonces.verify(s.authHeader(req), "INVITE", s.cfg.Realm, s.password)
		switch res {
		case authMissing, authStale:
			s.challenge(req, tx, res == authStale)
			return
		case authBad:
			s.guard.authFailed(src)
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
			return
		}
		l, ok := s.lines[user]
		if !ok {
			// An agent (or anyone else) trying to call out: inbound only, never routed out.
			s.log.Info("outbound call refused", "addr", src.String())
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
			return
		}
		s.guard.authOK(src)
		line = l.ID
		if l.Internal {
			ago = arrivedAgo(req)
		}
	}

	id, err := uuid.NewV7()
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	// Add keeps the monotonic reading, so every duration of the call still comes from it.
	c := &call{s: s, id: id.String(), arrived: s.clock.Now().Add(-ago), line: line, holdCh: make(chan sdp.Direction, 4), te: -1}
	refusal := ""
	if s.cfg.Admit != nil {
		if err := s.cfg.Admit(); err != nil {
			refusal = err.Error()
		}
	}
	s.mu.Lock()
	draining, runCtx := s.draining, s.runCtx
	if draining || runCtx == nil {
		refusal = "appliance draining or stopping"
	}
	if refusal == "" {
		s.callsWG.Add(1)
	}
	s.mu.Unlock()
	if refusal != "" {
		// Still an attempt: it gets its arrived and terminal events like any other refusal.
		c.in, _ = parseInbound(req)
		c.in.Line = line
		s.publish(Event{Kind: CallArrived, CallID: c.id, At: c.arrived, Inbound: &c.in})
		c.refuse(req, tx, sip.StatusServiceUnavailable, Failed, refusal)
		return
	}
	defer s.callsWG.Done()
	c.run(runCtx, req, tx)
}

// maxArrivedAgo bounds what an internal line may claim: a line rings a few times before answering.
const maxArrivedAgo = 2 * time.Minute

// arrivedAgo reads X-Ringside-Arrived-Ago (milliseconds since the call began on the line: an
// analog line's first ring), sent by the appliance's own FXO ports, which answer after a few rings.
func arrivedAgo(req *sip.Request) time.Duration {
	h := req.GetHeader(HeaderArrivedAgo)
	if h == nil {
		return 0
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(h.Value()), 10, 64)
	if err != nil || ms < 0 {
		return 0
	}
	return min(time.Duration(ms)*time.Millisecond, maxArrivedAgo)
}

// run is the whole life of a call.
func (c *call) run(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) {
	s := c.s
	defer c.release()
	// A CANCEL before our answer ends the call as it arrives (the 487 follows on its own).
	if !tx.OnCancel(func(*sip.Request) { c.markEnd() }) {
		c.markEnd()
	}
	in, err := parseInbound(req)
	c.in = in
	c.in.Line = c.line
	if err != nil {
		s.publish(Event{Kind: CallArrived, CallID: c.id, At: c.arrived, Inbound: &c.in})
		c.refuse(req, tx, sip.StatusBadRequest, Failed, err.Error())
		return
	}
	route, rerr := s.router.Route(c.in)
	if rerr == nil {
		c.route = route
		c.queueName = route.Queue
	}
	ev := Event{Kind: CallArrived, CallID: c.id, At: c.arrived, Inbound: &c.in, Queue: c.queueName}
	if rerr == nil {
		ev.Route = &c.route
	}
	s.publish(ev)
	s.log.Info("call arrived", "call", c.id, "line", c.line, "caller", redact(c.in.Caller), "queue", c.queueName)

	// SDP offer: G.711 or 488 (RFC 3261 section 13.3.1.1).
	if ct := req.ContentType(); ct == nil || !strings.HasPrefix(strings.ToLower(ct.Value()), "application/sdp") || len(req.Body()) == 0 {
		c.refuse(req, tx, sip.StatusBadRequest, Failed, "no SDP offer")
		return
	}
	offer, err := sdp.Parse(req.Body())
	if err != nil {
		c.refuse(req, tx, 488, Failed, "bad SDP: "+err.Error())
		return
	}
	codec, err := offer.Codec()
	if err != nil {
		c.refuse(req, tx, 488, Failed, "no G.711 in offer")
		return
	}
	c.callerMedia, c.codec, c.te = offer, codec, offer.TelephoneEvent

	switch {
	case rerr != nil && errors.Is(rerr, ErrNoRoute):
		c.refuse(req, tx, sip.StatusNotFound, Failed, "no route: "+rerr.Error())
		return
	case rerr != nil:
		c.refuse(req, tx, 500, Failed, "router: "+rerr.Error())
		return
	}
	qr, ok := s.queues[c.route.Queue]
	if !ok {
		c.refuse(req, tx, 500, Failed, "unknown queue "+c.route.Queue)
		return
	}
	if !c.takeSlot() {
		c.refuse(req, tx, s.cfg.BusyCode, Busy, "line or appliance at capacity")
		return
	}
	// Every path below answers the call (the closed announcement too): not before its arrival is
	// saved, so that no caller hears an answer that leaves no record.
	if err := c.waitSaved(ctx); err != nil {
		c.refuse(req, tx, sip.StatusServiceUnavailable, Failed, "call record not saved: "+err.Error())
		return
	}
	now := s.clock.Now()
	if s.night.Load() || (qr.cfg.Open != nil && !qr.cfg.Open(now)) {
		if qr.cfg.ClosedAction == ClosedAnnounce && qr.closing != nil {
			c.announceClosed(ctx, req, tx, qr)
			return
		}
		c.refuse(req, tx, s.cfg.ClosedCode, Closed, "outside business hours")
		return
	}
	ticket, err := s.engine.Join(c.route.Queue, c.id)
	switch {
	case errors.Is(err, acd.ErrQueueFull):
		c.refuse(req, tx, s.cfg.BusyCode, Busy, "queue full")
		return
	case errors.Is(err, acd.ErrNoAgent):
		c.refuse(req, tx, s.cfg.NoAgentCode, NoAgent, "no agent logged in")
		return
	case err != nil:
		c.refuse(req, tx, 500, Failed, err.Error())
		return
	}
	if err := c.answer(req, tx, qr); err != nil {
		s.engine.Leave(ticket)
		out, reason := Failed, err.Error()
		if c.ds != nil && c.ds.Context().Err() != nil || errors.Is(err, sip.ErrTransactionCanceled) {
			out, reason = Abandoned, "caller cancelled before answer"
		}
		e := c.endEvent(CallEnded)
		e.Outcome, e.Reason, e.Wait = out, reason, e.Mono
		c.finish(e)
		return
	}
	c.s.publish(c.event(CallQueued))
	c.serve(ctx, ticket, qr)
}

// takeSlot claims a capacity slot for the line and the appliance.
func (c *call) takeSlot() bool {
	s := c.s
	max := 0
	for _, l := range s.cfg.Lines {
		if l.ID == c.line {
			max = l.MaxCalls
		}
	}
	for _, t := range s.cfg.Trunks {
		if t.ID == c.line {
			max = t.MaxCalls
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.calls) >= s.cfg.MaxCalls || (max > 0 && s.lineCalls[c.line] >= max) {
		return false
	}
	s.calls[c.id] = c
	s.lineCalls[c.line]++
	c.counted = true
	return true
}

// release frees everything the call holds. It runs when the call goroutine ends.
func (c *call) release() {
	s := c.s
	if c.relay != nil {
		c.relay.Close()
	}
	s.mu.Lock()
	if c.counted {
		delete(s.calls, c.id)
		s.lineCalls[c.line]--
		if s.lineCalls[c.line] <= 0 {
			delete(s.lineCalls, c.line)
		}
	}
	if c.ds != nil {
		delete(s.callerDialogs, c.ds.ID)
	}
	s.mu.Unlock()
	c.mu.Lock()
	done := c.terminal
	c.mu.Unlock()
	if !done { // never leave an attempt without its terminal event
		e := c.endEvent(CallEnded)
		e.Outcome, e.Reason, e.Wait = Failed, "internal: call ended without outcome", e.Mono
		c.finish(e)
	}
}

// answer opens the media, sends 200 OK with our SDP and waits for the ACK.
func (c *call) answer(req *sip.Request, tx sip.ServerTransaction, qr *queueRuntime) error {
	s := c.s
	a, err := s.ports.Open()
	if err != nil {
		return err
	}
	b, err := s.ports.Open()
	if err != nil {
		a.Close()
		return err
	}
	var tap media.Tap
	if f := s.tapFor.Load(); f != nil {
		tap = (*f)(c.id)
	}
	c.relay = media.NewRelay(a, b, tap, s.clock, s.log)
	c.relay.SetRemote(media.LegCaller, c.callerMedia.Addr)
	if err := c.relay.Start(); err != nil {
		return err
	}
	announcement := qr.announcement
	if !c.route.Record { // the caller is told "recorded" exactly when the route says so
		announcement = nil
	}
	c.player = media.NewPlayer(func(p []byte) error { return c.relay.Send(media.LegCaller, p) }, c.codec, qr.music, qr.greeting, announcement)
	c.player.SetEnabled(true)

	ds, err := s.dialogUA.ReadInvite(req, tx)
	if err != nil {
		return err
	}
	c.ds = ds
	s.mu.Lock()
	s.callerDialogs[ds.ID] = c
	s.mu.Unlock()
	c.sessID = newSessionID()
	body := sdp.Local{Addr: c.relay.LocalAddr(media.LegCaller), Codec: c.codec, TelephoneEvent: c.te,
		Direction: c.callerMedia.Direction.Reverse(), SessionID: c.sessID, Version: c.localVer}.Marshal()
	if err := ds.RespondSDP(body); err != nil {
		return err
	}
	c.s.publish(c.event(CallAnswered))
	return nil
}

// waitSaved waits, at most SavedTimeout, until the events published so far are saved (Config.Saved).
func (c *call) waitSaved(ctx context.Context) error {
	if c.s.cfg.Saved == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.cfg.SavedTimeout)
	defer cancel()
	return c.s.cfg.Saved(ctx)
}

// announceClosed answers, plays the closed message once and hangs up (outcome closed).
func (c *call) announceClosed(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, qr *queueRuntime) {
	q := *qr
	q.music, q.greeting, q.announcement = media.NewClip(nil), nil, nil
	q.music = qr.closing
	if err := c.answer(req, tx, &q); err != nil {
		e := c.endEvent(CallEnded)
		e.Outcome, e.Reason, e.Wait = Closed, "closed; answer failed: "+err.Error(), e.Mono
		c.finish(e)
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.player.Run(pctx)
	d := time.Duration(len(qr.closing.Bytes(c.codec))) * time.Second / 8000
	select {
	case <-time.After(d):
		c.markEnd()
		c.byeCaller()
	case <-c.ds.Context().Done(): // the caller's BYE marked the end
	case <-ctx.Done():
		c.markEnd()
		c.byeCaller()
	}
	e := c.endEvent(CallEnded)
	e.Outcome, e.Reason, e.Wait = Closed, "outside business hours (announced)", e.Mono
	c.finish(e)
}

func (c *call) byeCaller() {
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout) // teardown owned by the call
	defer cancel()
	if err := c.ds.Bye(ctx); err != nil {
		c.s.log.Debug("bye caller", "call", c.id, "err", err)
	}
}

// errLegCancelled reports a leg that answered after we cancelled it; it was hung up.
var errLegCancelled = errors.New("answered after it was cancelled; hung up")

// legResult is what a ringing leg reports once.
type legResult struct {
	l    *leg
	ok   bool
	code int
	err  error
}

// serve runs the queue and the conversation until the call ends.
func (c *call) serve(ctx context.Context, ticket *acd.Ticket, qr *queueRuntime) {
	s := c.s
	pctx, stopPlayer := context.WithCancel(ctx)
	var playerWG sync.WaitGroup
	playerWG.Add(1)
	go func() { defer playerWG.Done(); c.player.Run(pctx) }()
	defer func() { stopPlayer(); playerWG.Wait() }()

	results := make(chan legResult, 64)
	legs := map[*leg]bool{} // ringing legs
	pending := 0
	callerGone := c.ds.Context().Done()
	var maxWait <-chan time.Time
	if qr.cfg.MaxWait > 0 {
		t := time.NewTimer(qr.cfg.MaxWait)
		defer t.Stop()
		maxWait = t.C
	}
	mediaTick := time.NewTicker(time.Second)
	defer mediaTick.Stop()

	outcome, reason, overflow := Outcome(""), "", ""
	var connectedAt time.Time
	var wait time.Duration
	var holdTotal time.Duration
	var holdStart time.Time
	holds := 0
	var agentDone <-chan struct{}
	var winner *leg

	offer := func() {
		if ticket == nil || winner != nil {
			return
		}
		for _, agentID := range s.engine.Offer(ticket) {
			l := c.newLeg(agentID, "")
			if l == nil {
				s.engine.NoAnswer(ticket, agentID)
				continue
			}
			legs[l] = true
			pending++
			e := c.event(CallRinging)
			e.Agent = agentID
			s.publish(e)
			go l.ring(ctx, qr.cfg.RingTimeout, results)
		}
	}
	cancelLegs := func(except *leg) {
		for l := range legs {
			if l != except {
				l.cancel()
			}
		}
	}
	// end decides the outcome. The call ended now (or when the caller's BYE arrived, which marked
	// it first): the teardown that follows, and legs still waiting for the 487 to our CANCEL, do
	// not count.
	end := func(o Outcome, why string) {
		outcome, reason = o, why
		c.markEnd()
	}
	offer()
	for outcome == "" || pending > 0 {
		if outcome != "" { // finishing: only collect leg results
			r := <-results
			pending--
			delete(legs, r.l)
			if r.ok {
				c.hangupLeg(r.l)
			}
			if r.l.agent != "" && ticket != nil {
				s.engine.NoAnswer(ticket, r.l.agent)
			}
			continue
		}
		var changed <-chan struct{}
		if winner == nil && ticket != nil {
			changed = ticket.Wake() // signalled when this caller is at the front and something changed
			offer()
		}
		select {
		case <-changed:
			continue // an agent freed up or logged in: offer again at the top
		case <-callerGone:
			switch {
			case winner != nil:
				end(Connected, "caller hung up")
				c.hangupLeg(winner)
			case pending > 0:
				end(Abandoned, "caller hung up while agents rang")
			default:
				end(Abandoned, "caller hung up in queue")
			}
		case <-agentDone:
			end(Connected, "agent hung up")
			c.byeCaller()
		case <-ctx.Done():
			if winner != nil {
				end(Connected, "shutdown")
				c.hangupLeg(winner)
			} else {
				end(Failed, "shutdown")
			}
			c.byeCaller()
		case <-maxWait:
			if winner != nil {
				continue
			}
			cancelLegs(nil)
			s.engine.Leave(ticket)
			ticket = nil
			if qr.cfg.OverflowQueue != "" || qr.cfg.OverflowURI != "" {
				overflow = qr.cfg.OverflowQueue + qr.cfg.OverflowURI
				e := c.event(CallOverflow)
				e.Overflow = overflow
				s.publish(e)
				if t, nq := c.overflow(qr, results, legs, &pending); t != nil || nq == nil && pending > 0 {
					// Overflowed: the outcome stays timeout (product.md: "waited the queue's maximum
					// wait and was sent to overflow"), but the call goes on in the new queue or leg.
					ticket = t
					if nq != nil {
						qr = nq
						c.mu.Lock()
						c.queueName = nq.cfg.Name
						c.mu.Unlock()
						maxWait = nil
						if nq.cfg.MaxWait > 0 {
							maxWait = time.After(nq.cfg.MaxWait)
						}
					}
					continue
				}
			}
			end(Timeout, "maximum wait reached")
			c.byeCaller()
		case <-mediaTick.C:
			if s.cfg.MediaTimeout > 0 && c.relay.Idle(media.LegCaller) > s.cfg.MediaTimeout {
				end(Failed, "media timeout: no RTP from caller")
				if winner != nil {
					c.hangupLeg(winner)
				}
				c.byeCaller()
			}
		case dir := <-c.holdCh:
			if winner == nil {
				continue
			}
			held := dir.Held()
			c.mu.Lock()
			c.agentDir = dir
			c.mu.Unlock()
			c.relay.SetForward(media.LegAgent, !held)
			c.relay.SetForward(media.LegCaller, !held)
			c.player.SetEnabled(held)
			switch {
			case held && holdStart.IsZero():
				holds++
				e := c.event(CallHold)
				holdStart = e.At
				e.Agent = winner.agent
				s.publish(e)
			case !held && !holdStart.IsZero():
				e := c.event(CallUnhold)
				d := e.At.Sub(holdStart)
				holdTotal += d
				holdStart = time.Time{}
				e.Agent, e.OnHold = winner.agent, d
				s.publish(e)
			}
		case r := <-results:
			pending--
			delete(legs, r.l)
			if !r.ok {
				if r.l.agent != "" {
					if ticket != nil {
						s.engine.NoAnswer(ticket, r.l.agent)
					}
					e := c.event(CallNoAnswer)
					e.Agent, e.Code = r.l.agent, r.code
					s.publish(e)
				} else if ticket == nil && winner == nil && pending == 0 {
					end(Timeout, "overflow target did not answer")
					c.byeCaller()
				}
				continue
			}
			won := winner == nil && (r.l.agent == "" || (ticket != nil && s.engine.Answered(ticket, r.l.agent)))
			if !won {
				c.hangupLeg(r.l) // lost the ring-all race: ACKed already, now BYE
				continue
			}
			winner = r.l
			cancelLegs(winner)
			c.bridge(winner)
			agentDone = winner.dc.Context().Done()
			e := c.event(CallConnected)
			connectedAt, wait = e.At, e.Mono
			e.Agent, e.Wait = winner.agent, wait
			s.publish(e)
			s.log.Info("call connected", "call", c.id, "agent", winner.agent, "wait", wait)
		}
		if outcome != "" {
			cancelLegs(winner)
			if ticket != nil && winner == nil {
				s.engine.Leave(ticket)
			}
		}
	}
	e := c.endEvent(CallEnded)
	if !holdStart.IsZero() { // a call that ends on hold: the hold lasts until the end
		holdTotal += e.At.Sub(holdStart)
	}
	e.Outcome, e.Reason, e.Overflow, e.OnHold, e.Holds = outcome, reason, overflow, holdTotal, holds
	if winner != nil {
		e.Agent = winner.agent
		e.Wait = wait
		e.Talk = e.At.Sub(connectedAt)
		if outcome != Failed {
			e.Outcome = Connected
		}
		if ticket != nil && winner.agent != "" {
			s.engine.Hangup(ticket, winner.agent)
		}
		s.mu.Lock()
		delete(s.agentDialogs, winner.dc.ID)
		s.mu.Unlock()
	} else {
		e.Wait = e.Mono
	}
	if overflow != "" && e.Outcome != Failed {
		e.Outcome = Timeout // waited the maximum and was sent to overflow, whatever happened next
	}
	c.finish(e)
	s.log.Info("call ended", "call", c.id, "outcome", e.Outcome, "reason", reason)
}

// overflow moves the call to the queue's overflow target. For a queue it returns the new ticket
// and queue; for a URI it starts a leg and returns nil, nil (the leg reports on results).
func (c *call) overflow(qr *queueRuntime, results chan legResult, legs map[*leg]bool, pending *int) (*acd.Ticket, *queueRuntime) {
	s := c.s
	if qr.cfg.OverflowQueue != "" {
		nq := s.queues[qr.cfg.OverflowQueue]
		t, err := s.engine.Join(nq.cfg.Name, c.id)
		if err != nil {
			return nil, nil
		}
		return t, nq
	}
	l := c.newLeg("", qr.cfg.OverflowURI)
	if l == nil {
		return nil, nil
	}
	legs[l] = true
	*pending++
	go l.ring(c.s.runCtxOrBackground(), qr.cfg.RingTimeout, results)
	return nil, nil
}

func (s *Server) runCtxOrBackground() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx != nil {
		return s.runCtx
	}
	return context.Background()
}

// bridge connects the caller's media to the winning leg.
func (c *call) bridge(l *leg) {
	c.relay.SetRemote(media.LegAgent, l.remote.Addr)
	c.mu.Lock()
	c.bridged = l
	c.agentDir = l.remote.Direction
	c.mu.Unlock()
	c.player.SetEnabled(false)
	c.relay.SetForward(media.LegCaller, true)
	c.relay.SetForward(media.LegAgent, true)
}

// hangupLeg ends an answered agent leg (BYE), off the call goroutine but tracked by the server.
func (c *call) hangupLeg(l *leg) {
	c.s.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout) // teardown owned by the server
		defer cancel()
		if err := l.dc.Bye(ctx); err != nil {
			c.s.log.Debug("bye agent", "call", c.id, "agent", l.agent, "err", err)
		}
		c.s.mu.Lock()
		delete(c.s.agentDialogs, l.dc.ID)
		c.s.mu.Unlock()
	})
}

// onReInvite handles an INVITE inside an existing dialog: hold and resume from the agent (RFC 3264
// section 8.4), or a refresh / hold from the caller. sipgo's dialogs do not handle re-INVITEs: we
// answer 200 with our SDP ourselves; the ACK arrives on onAck and needs nothing.
func (s *Server) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	var c *call
	var l *leg
	if id, err := sip.DialogIDFromRequestUAS(req); err == nil {
		s.mu.Lock()
		c = s.callerDialogs[id]
		s.mu.Unlock()
	}
	if c == nil {
		if id, err := sip.DialogIDFromRequestUAC(req); err == nil {
			s.mu.Lock()
			l = s.agentDialogs[id]
			s.mu.Unlock()
		}
		if l != nil {
			c = l.call
		}
	}
	if c == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	var dlg *sipgo.Dialog
	if l != nil {
		dlg = &l.dc.Dialog
	} else {
		dlg = &c.ds.Dialog
	}
	if err := dlg.ReadRequest(req, tx); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	var m sdp.Media
	if len(req.Body()) > 0 {
		var err error
		if m, err = sdp.Parse(req.Body()); err != nil {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
			return
		}
	} else {
		m.Direction = sdp.SendRecv // offerless re-INVITE: we offer sendrecv (RFC 3261 14.1)
	}
	leg := media.LegCaller
	if l != nil {
		leg = media.LegAgent
		if m.Addr.IsValid() && !m.Addr.Addr().IsUnspecified() {
			c.relay.SetRemote(media.LegAgent, m.Addr)
		}
	} else if m.Addr.IsValid() && !m.Addr.Addr().IsUnspecified() {
		c.relay.SetRemote(media.LegCaller, m.Addr)
	}
	c.mu.Lock()
	c.localVer++
	ver := c.localVer
	c.mu.Unlock()
	body := sdp.Local{Addr: c.relay.LocalAddr(leg), Codec: c.codec, TelephoneEvent: c.te, Direction: m.Direction.Reverse(),
		SessionID: c.sessID, Version: ver}.Marshal()
	res := sip.NewSDPResponseFromRequest(req, body)
	res.AppendHeader(&s.contact)
	if err := tx.Respond(res); err != nil {
		return
	}
	if l != nil {
		select {
		case c.holdCh <- m.Direction:
		default:
			s.log.Warn("hold change dropped", "call", c.id)
		}
	}
}

// leg is an outbound INVITE to an agent (agent set) or to an overflow URI (uri set).
type leg struct {
	call   *call
	agent  string
	target sip.Uri
	dest   string
	tp     string
	remote sdp.Media

	ctx   context.Context
	stop  context.CancelCauseFunc
	heard atomic.Bool // a response (1xx or final) arrived
	dc    *sipgo.DialogClientSession

	sent       atomic.Pointer[sipgo.DialogClientSession] // dc, for cancel on other goroutines
	cancelled  atomic.Bool                               // cancel was called
	cancelSent atomic.Bool                               // our CANCEL went out
	answered   atomic.Bool                               // the INVITE's 2xx is in: too late to CANCEL
}

// teardownTimeout bounds each ACK, BYE or CANCEL sent while ending a dialog, so a phone that
// has gone away (or a peer that aborted on a CANCEL crossing its 200) holds nothing longer.
const teardownTimeout = 5 * time.Second

// cancelGrace is how long a cancelled leg waits for the INVITE's final response (the phone's 487,
// or a 200 that crossed our CANCEL) before it gives up on the transaction.
const cancelGrace = 2 * time.Second

// cancel stops ringing (RFC 3261 section 9.1). Once the phone has sent a provisional response,
// the CANCEL goes out on a server-owned goroutine while ring keeps waiting for the INVITE's final
// response, at most cancelGrace: a 487 ends the leg, and a 200 that crossed the CANCEL is ACKed
// and hung up there, never lost. (sipgo's own cancel path would hold the caller's teardown up to
// 64*T1; giving up on the transaction at once, as this did before, lost a 200 that arrived in the
// same instant.) Before any provisional response there is nothing to CANCEL yet: the leg gives up
// at once, and a later final response reaches strayResponse, which ACKs it and, for a 200, hangs
// up. cancel may be called more than once, from any goroutine.
func (l *leg) cancel() {
	if l.cancelled.Swap(true) {
		return
	}
	if l.answered.Load() {
		// The 200 is in (RFC 3261 section 9.1: a CANCEL now has no effect, and some phones abort
		// on it). ring or the call hangs the leg up instead; see ring.
		return
	}
	dc := l.sent.Load()
	if dc == nil || !l.heard.Load() {
		l.stop(sipgo.WaitAnswerForceCancelErr)
		return
	}
	l.cancelSent.Store(true)
	l.call.s.cancelLeg(dc)
	time.AfterFunc(cancelGrace, func() { l.stop(sipgo.WaitAnswerForceCancelErr) })
}

// ackAndEnd confirms a 200 the call no longer wants and hangs that dialog up, so no leg dangles.
func ackAndEnd(dc *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout) // teardown owned by the leg
	defer cancel()
	_ = dc.Ack(ctx)
	_ = dc.Bye(ctx)
}

// newLeg prepares a leg to agentID's registered contact, or to uri. It returns nil when the agent
// is not registered or the URI does not parse.
func (c *call) newLeg(agentID, uri string) *leg {
	s := c.s
	l := &leg{call: c, agent: agentID}
	if agentID != "" {
		bd, ok := s.reg.get(s.agentIDs[agentID])
		if !ok {
			return nil
		}
		l.target, l.tp = bd.contact, bd.transport
	} else {
		if err := sip.ParseUri(uri, &l.target); err != nil {
			s.log.Error("overflow uri", "uri", uri, "err", err)
			return nil
		}
		l.tp = "UDP"
		if tp, ok := l.target.UriParams.Get("transport"); ok {
			l.tp = strings.ToUpper(tp)
		}
	}
	l.ctx, l.stop = context.WithCancelCause(context.Background())
	return l
}

// ring sends the INVITE and waits for an answer, at most ringTimeout. It reports exactly once on
// results. A 2xx is ACKed here; the call decides whether to keep the leg or BYE it. A 2xx that
// crosses our CANCEL is ACKed and BYEd here (sipgo leaves it in InviteResponse).
func (l *leg) ring(parent context.Context, ringTimeout time.Duration, results chan<- legResult) {
	c := l.call
	s := c.s
	report := func(r legResult) { r.l = l; results <- r }

	name := c.in.CallerName
	user := c.in.Caller
	if c.in.Withheld || user == "" {
		user, name = "anonymous", "Anonymous"
	}
	req := sip.NewRequest(sip.INVITE, *l.target.Clone())
	from := sip.FromHeader{DisplayName: name, Address: sip.Uri{Scheme: "sip", User: user, Host: s.cfg.PublicAddr.String()}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	to := sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: l.target.User, Host: l.target.Host, Port: l.target.Port}}
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetTransport(l.tp)
	req.SetBody(sdp.Offer(c.relay.LocalAddr(media.LegAgent), c.codec, c.te, c.sessID+1, 0))

	ctx := l.ctx
	defer l.stop(nil)
	stopParent := context.AfterFunc(parent, l.cancel)
	defer stopParent()
	timer := time.AfterFunc(ringTimeout, l.cancel)
	defer timer.Stop()

	dc, err := s.dialogUA.WriteInvite(ctx, req)
	if err != nil {
		report(legResult{err: fmt.Errorf("invite %s: %w", l.agent, err)})
		return
	}
	l.dc = dc
	l.sent.Store(dc)
	err = dc.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(*sip.Response) error {
		l.heard.Store(true)
		return nil
	}})
	if err != nil && context.Cause(ctx) == sipgo.WaitAnswerForceCancelErr && l.heard.Load() && !l.cancelSent.Swap(true) {
		s.cancelLeg(dc)
	} else if err != nil && !l.cancelSent.Load() {
		s.rememberGaveUp(dc.InviteRequest) // strayResponse hangs up a 200 that comes after all
	}
	// answered is set before cancelled is read, and cancel sets cancelled before it reads
	// answered: either cancel sees the answer and sends no CANCEL (and the call hangs up the leg
	// it reports), or this sees the cancel and hangs up here, or both.
	if err == nil {
		l.answered.Store(true)
		if l.cancelled.Load() {
			// Answered as we cancelled: the call has moved on.
			ackAndEnd(dc)
			report(legResult{err: errLegCancelled})
			return
		}
	}
	if err != nil {
		if r := dc.InviteResponse; r != nil && r.IsSuccess() {
			// The 200 crossed our CANCEL.
			if id, e := sip.DialogIDFromResponse(r); e == nil {
				dc.ID = id
			}
			ackAndEnd(dc)
		}
		code := 0
		var de *sipgo.ErrDialogResponse
		if errors.As(err, &de) {
			code = de.Res.StatusCode
		}
		report(legResult{code: code, err: err})
		return
	}
	tctx, tcancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer tcancel()
	if err := dc.Ack(tctx); err != nil {
		report(legResult{err: err})
		return
	}
	m, perr := sdp.Parse(dc.InviteResponse.Body())
	if perr == nil {
		if cd, e := m.Codec(); e != nil || cd != c.codec {
			perr = fmt.Errorf("agent answered with another codec")
		}
	}
	s.mu.Lock()
	s.agentDialogs[dc.ID] = l
	s.mu.Unlock()
	if perr != nil {
		s.log.Warn("agent answer unusable", "call", c.id, "agent", l.agent, "err", perr)
		c.hangupLeg(l)
		report(legResult{err: perr, code: 488})
		return
	}
	l.remote = m
	report(legResult{ok: true})
}

var _ = netip.Addr{}
