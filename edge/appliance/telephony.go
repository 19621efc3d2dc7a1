package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/live"
	"github.com/ringside/ringside/edge/phone"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/edge/tracker"
	"github.com/ringside/ringside/telephony/acd"
	"github.com/ringside/ringside/telephony/pbx"
)

// pbxConfig maps the appliance config onto what the SIP side needs. internal holds the generated
// passwords of the analog ports' internal line accounts, by line id.
func pbxConfig(c *config.Config, internal map[string]string) (pbx.Config, error) {
	out := pbx.Config{
		Realm:          c.SIP.Realm,
		MaxCalls:       c.SIP.MaxCalls,
		MediaTimeout:   c.SIP.MediaTimeout.D(),
		BusyCode:       c.SIP.BusyCode,
		MaxMessageSize: c.SIP.MaxMessage,
		BanAfter:       c.SIP.BanAfter,
		BanFor:         c.SIP.BanFor.D(),
		RateLimit:      float64(c.SIP.RateLimit),
		RTPPortMin:     c.SIP.RTPPortMin,
		RTPPortMax:     c.SIP.RTPPortMax,
	}
	out.TrustedRateLimit = float64(c.SIP.TrustedRateLimit)
	out.TCPIdleTimeout, out.TCPMaxConnsPerAddr = c.SIP.TCPIdleTimeout.D(), c.SIP.TCPMaxConnsPerAddr
	for _, l := range c.SIP.Listen {
		proto, addr, _ := strings.Cut(l, ":")
		out.Listeners = append(out.Listeners, pbx.Listener{Network: proto, Addr: addr, CertFile: c.SIP.TLSCert, KeyFile: c.SIP.TLSKey})
	}
	pub, err := publicAddr(c)
	if err != nil {
		return out, err
	}
	out.PublicAddr = pub
	for _, l := range c.Lines {
		switch l.Kind {
		case "sip_account":
			out.Lines = append(out.Lines, pbx.LineAccount{ID: l.ID, Username: l.Username, Password: l.Password, MaxCalls: l.MaxCalls})
		case "sip_trunk":
			t := pbx.Trunk{ID: l.ID, MaxCalls: l.MaxCalls}
			for _, a := range l.Addresses {
				p, err := netip.ParsePrefix(a)
				if err != nil {
					ip, err := netip.ParseAddr(a)
					if err != nil {
						return out, fmt.Errorf("line %s: address %q: %w", l.ID, a, err)
					}
					p = netip.PrefixFrom(ip, ip.BitLen())
				}
				t.Sources = append(t.Sources, p)
			}
			out.Trunks = append(out.Trunks, t)
		case "fxo":
			out.Lines = append(out.Lines, pbx.LineAccount{ID: l.ID, Username: fxoUsername(l.ID), Password: internal[l.ID],
				MaxCalls: l.MaxCalls, Internal: true})
		}
	}
	for _, a := range c.Agents {
		out.Agents = append(out.Agents, pbx.AgentAccount{ID: a.ID, Username: a.Username, Password: a.Password})
	}
	for _, q := range c.Queues {
		pq := pbx.Queue{
			Name: q.Name, Strategy: acd.Strategy(q.Strategy),
			RingTimeout: q.RingTimeout.D(), WrapUp: q.WrapUp.D(), MaxWait: q.MaxWait.D(), MaxCallers: q.MaxCallers,
			OverflowQueue: q.Overflow.Queue, OverflowURI: q.Overflow.URI,
			HoldMusic: q.HoldMusic, Greeting: q.Greeting, ClosedMessage: q.ClosedMessage,
			ClosedAction: pbx.ClosedRefuse,
		}
		if q.ClosedAction == "announce" {
			pq.ClosedAction = pbx.ClosedAnnounce
		}
		// Played only to the calls whose route records (router.route decides it).
		pq.Announcement = firstNonEmpty(q.Announcement, c.Recording.Announcement)
		for _, m := range q.Members {
			pq.Members = append(pq.Members, acd.Member{Agent: m.Agent, Weight: m.Weight})
		}
		if q.Hours != "" {
			h := c.Hours[q.Hours]
			loc := c.Site.Location
			pq.Open = func(t time.Time) bool { return h.Open(t.In(loc)) }
		}
		out.Queues = append(out.Queues, pq)
	}
	return out, nil
}

// publicAddr is the address put in SDP and Contact: sip.public_addr, else the first listener's own
// address, else the box's first non-loopback IPv4 address (an appliance on a LAN usually has one).
func publicAddr(c *config.Config) (netip.Addr, error) {
	if c.SIP.PublicAddr != "" {
		a, err := netip.ParseAddr(c.SIP.PublicAddr)
		if err != nil {
			return a, fmt.Errorf("sip.public_addr: %w", err)
		}
		return a, nil
	}
	for _, l := range c.SIP.Listen {
		_, hostport, _ := strings.Cut(l, ":")
		if ap, err := netip.ParseAddrPort(hostport); err == nil && !ap.Addr().IsUnspecified() {
			return ap.Addr(), nil
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP.To4()); ok && ip.IsValid() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
					return ip, nil
				}
			}
		}
	}
	return netip.MustParseAddr("127.0.0.1"), nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// router picks the tracking number of an inbound call: the first dialed-number candidate that is a
// tracking number (Request-URI, To, then Diversion / History-Info for forwarded calls), else the
// number the line stands for (analog lines and ATAs carry no dialed number).
type router struct {
	cfg     *config.Config
	numbers map[string]config.TrackingNumber
	lines   map[string]string // line id -> tracking number
}

func newRouter(c *config.Config) *router {
	r := &router{cfg: c, numbers: map[string]config.TrackingNumber{}, lines: map[string]string{}}
	for _, n := range c.TrackingNumbers {
		r.numbers[n.Number] = n
	}
	for _, l := range c.Lines {
		if l.TrackingNumber != "" {
			r.lines[l.ID] = l.TrackingNumber
		}
	}
	return r
}

func (r *router) Route(in pbx.Inbound) (pbx.Route, error) {
	for _, d := range in.Dialed {
		n, err := phone.Normalize(d, r.cfg.Site.Region)
		if err != nil {
			continue
		}
		if tn, ok := r.numbers[n]; ok {
			return r.route(tn), nil
		}
	}
	if n, ok := r.lines[in.Line]; ok {
		return r.route(r.numbers[n]), nil
	}
	return pbx.Route{}, fmt.Errorf("none of %d dialed numbers is a tracking number: %w", len(in.Dialed), pbx.ErrNoRoute)
}

func (r *router) route(tn config.TrackingNumber) pbx.Route {
	q := tn.Queue
	if q == "" && len(r.cfg.Queues) > 0 {
		q = r.cfg.Queues[0].Name // a number without a queue goes to the first queue
	}
	return pbx.Route{TrackingNumber: tn.Number, Queue: q, Record: r.records(tn, q)}
}

// records is the one recording decision of a call, carried in its route to the SIP side (which
// plays the announcement by it) and to the recorder: the tracking number's choice if it made one,
// else its queue's, else the site's (recording.enabled).
func (r *router) records(tn config.TrackingNumber, queue string) bool {
	if tn.Record != nil {
		return *tn.Record
	}
	for _, q := range r.cfg.Queues {
		if q.Name == queue && q.Record != nil {
			return *q.Record
		}
	}
	return r.cfg.Recording.Enabled
}

// journalKind is the journal entry each of the SIP side's call events becomes.
var journalKind = map[pbx.Kind]call.Kind{
	pbx.CallArrived: call.KindArrived, pbx.CallAnswered: call.KindAnswered, pbx.CallQueued: call.KindQueued,
	pbx.CallRinging: call.KindRinging, pbx.CallNoAnswer: call.KindNoAnswer, pbx.CallConnected: call.KindConnected,
	pbx.CallHold: call.KindHold, pbx.CallUnhold: call.KindUnhold, pbx.CallOverflow: call.KindOverflow,
	pbx.CallRefused: call.KindRefused, pbx.CallEnded: call.KindEnded,
}

// callSink turns the SIP side's events into journal events for the tracker, and agent and queue
// changes into live events.
type callSink struct {
	tracker *tracker.Tracker
	bus     *live.Bus
	media   *mediaPart
	fxo     *fxoPart // told which analog lines' calls the SIP side took
	region  string
	log     *slog.Logger
}

func (s *callSink) Publish(ev pbx.Event) {
	switch ev.Kind {
	case pbx.AgentChanged:
		s.bus.Publish(live.Event{At: ev.At, Type: live.TypeAgent, Agent: &live.AgentState{Agent: ev.Agent, State: ev.AgentState, Call: ev.CallID}})
		return
	case pbx.QueueDepth:
		s.bus.Publish(live.Event{At: ev.At, Type: live.TypeQueue, Queue: &live.QueueDepth{Queue: ev.Queue, Waiting: ev.Depth}})
		return
	}
	kind, ok := journalKind[ev.Kind]
	if !ok {
		s.log.Warn("unknown telephony event", "kind", ev.Kind)
		return
	}
	ce := call.Event{CallID: ev.CallID, Kind: kind, At: ev.At, Mono: ev.Mono, Queue: ev.Queue, Agent: ev.Agent,
		Outcome: call.Outcome(ev.Outcome), Detail: ev.Reason}
	switch kind {
	case call.KindArrived:
		ce.Arrival = s.arrival(ev)
		if ev.Inbound != nil {
			s.fxo.sipArrived(ev.Inbound.Line)
		}
		s.media.begin(ev.CallID, ev.Route != nil && ev.Route.Record, ev.At)
	case call.KindConnected:
		s.media.connected(ev.CallID)
	case call.KindOverflow:
		ce.Detail = ev.Overflow
	}
	if ce.Kind == call.KindRefused || ce.Kind == call.KindEnded {
		// The recording is closed and the quality read off the call path; their journal entries
		// go in before the end, so the summary that leaves with the end carries them.
		s.media.finishing.Go(func() {
			for _, e := range s.media.finish(ev.CallID, ev.At, s.tracker.Post) {
				s.tracker.Post(e)
			}
			s.tracker.Post(ce)
		})
		return
	}
	s.tracker.Post(ce)
}

func (s *callSink) arrival(ev pbx.Event) *call.Arrival {
	a := &call.Arrival{}
	if in := ev.Inbound; in != nil {
		a.Line, a.CallerName, a.Withheld = in.Line, in.CallerName, in.Withheld
		if len(in.Dialed) > 0 {
			a.DialedNumber = normalizeOrRaw(in.Dialed[0], s.region)
		}
		if !in.Withheld {
			n, err := phone.Normalize(in.Caller, s.region)
			switch {
			case errors.Is(err, phone.ErrWithheld):
				a.Withheld = true
			case err != nil:
				a.CallerNumber = in.Caller // an extension or a malformed number: kept as sent (sanitised)
			default:
				a.CallerNumber = n
			}
		}
	}
	if ev.Route != nil {
		a.TrackingNumber = ev.Route.TrackingNumber
	}
	return a
}

func normalizeOrRaw(s, region string) string {
	if n, err := phone.Normalize(s, region); err == nil {
		return n
	}
	return s
}

// registrations keeps the SIP registrar's bindings in the store, so that a restart logs no phone
// out (pbx.Registrations).
type registrations struct{ st *store.Store }

func (r registrations) SaveRegistration(ctx context.Context, b pbx.Registration) error {
	return r.st.SaveRegistration(ctx, store.Registration{User: b.User, Contact: b.Contact, Source: b.Source,
		Transport: b.Transport, Granted: b.At, Expires: b.Expires})
}

func (r registrations) DeleteRegistration(ctx context.Context, user string) error {
	return r.st.DeleteRegistration(ctx, user)
}

func (r registrations) LoadRegistrations(ctx context.Context) ([]pbx.Registration, error) {
	rows, err := r.st.Registrations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]pbx.Registration, len(rows))
	for i, b := range rows {
		out[i] = pbx.Registration{User: b.User, Contact: b.Contact, Source: b.Source, Transport: b.Transport,
			At: b.Granted, Expires: b.Expires}
	}
	return out, nil
}
