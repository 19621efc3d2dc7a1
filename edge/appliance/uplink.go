package appliance

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/metrics"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/uplink"
)

// uplinkConfig maps the appliance config onto the publisher's.
func uplinkConfig(c *config.Config) (uplink.Config, uplink.Privacy, error) {
	u := c.Uplink
	mode, err := uplink.ParseCallerMode(u.CallerNumber)
	if err != nil {
		return uplink.Config{}, uplink.Privacy{}, fmt.Errorf("uplink.caller_number: %w", err)
	}
	pc := uplink.Config{
		Broker: u.Broker, ClientID: u.ClientID, Username: u.Username, Password: u.Password,
		Topics:   uplink.Topics{Prefix: u.TopicPrefix, Site: config.Slug(c.Site.Name), Device: c.Site.Device},
		SiteName: c.Site.Name, HomeAssistant: u.HomeAssistant, WebURL: c.Web.PublicURL,
		RatePerSec: u.RatePerSec, InFlight: u.InFlight, Keepalive: u.Keepalive.D(),
	}
	if u.CAFile != "" || u.CertFile != "" {
		tc, err := uplink.LoadTLS(u.CAFile, u.CertFile, u.KeyFile)
		if err != nil {
			return pc, uplink.Privacy{}, fmt.Errorf("uplink TLS: %w", err)
		}
		pc.TLS = tc
	}
	return pc, uplink.Privacy{Mode: mode, Secret: []byte(u.HashSecret)}, nil
}

// uplinkPart is the MQTT uplink as the appliance uses it: the summaries committed with each call,
// the publisher that drains them, and the gauges it shows.
type uplinkPart struct {
	cfg *config.Config
	enc *uplink.Encoder
	pub *uplink.Publisher
	loc *time.Location
}

// newUplinkPart builds the uplink on ob; it connects nothing (the publisher's Run does), so Check
// builds it too, on an outbox it never reads.
// version is the software\'s version, shown in Home Assistant.
func newUplinkPart(c *config.Config, ob uplink.Outbox, log *slog.Logger, version string) (*uplinkPart, error) {
	pc, privacy, err := uplinkConfig(c)
	if err != nil {
		return nil, err
	}
	pc.Version = version
	enc, err := uplink.NewEncoder(pc.Topics, privacy)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	pub, err := uplink.New(pc, ob, log, uplink.SystemClock{}, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)))
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	return &uplinkPart{cfg: c, enc: enc, pub: pub, loc: c.Site.Location}, nil
}

// Summaries encodes a finished call (revision 0) or a later change to it (revision = the journal
// entry that changed it) for the outbox. It implements tracker.Uplink.
func (u *uplinkPart) Summaries(r call.Record, revision int) ([]store.OutboxEntry, error) {
	lead := u.cfg.Metrics.LeadRule.Lead(r.Outcome == call.Connected, r.FirstTime, r.Withheld, r.Talk)
	if r.Tags.Lead != nil {
		lead = *r.Tags.Lead
	}
	a := r.Attribution
	s := uplink.Summary{
		CallID: r.ID, Revision: revision,
		Arrived: r.Arrived.UTC(), Answered: r.Answered.UTC(), Connected: r.Connected.UTC(), Ended: r.Ended.UTC(),
		WaitMs: ms(r.Wait), TalkMs: ms(r.Talk), HoldMs: ms(r.HoldTotal), HoldCount: r.HoldCount,
		Outcome: string(r.Outcome), Reason: r.Reason,
		Line: r.Line, TrackingNumber: r.TrackingNumber,
		Attribution: uplink.Attribution{Source: a.Source, Campaign: a.Campaign, Medium: a.Medium, Keyword: a.Keyword, GCLID: a.GCLID},
		Queue:       r.Queue, Agent: r.Agent, FirstTime: r.FirstTime,
		Tags:    uplink.Tags{Lead: lead, Converted: r.Tags.Converted, RevenueCents: r.Tags.RevenueCents},
		Quality: uplink.Quality{Caller: legQuality(r.CallerQuality), Agent: legQuality(r.AgentQuality)},
	}
	if r.Withheld {
		s.Caller.Withheld = true
	}
	m, err := u.enc.Call(s, r.CallerNumber)
	if err != nil {
		return nil, err
	}
	return []store.OutboxEntry{{ID: m.ID, Topic: m.Topic, Payload: m.Payload, CreatedAt: r.Ended}}, nil
}

// ms is d in whole milliseconds, rounded as every surface rounds (metrics.Whole).
func ms(d time.Duration) int64 { return metrics.Whole(d, time.Millisecond) }

func legQuality(q call.LegQuality) uplink.LegQuality {
	return uplink.LegQuality{Packets: q.Packets, LossPct: q.LossPct, JitterMs: q.JitterMs, MOS: q.MOS}
}

// Kick tells the publisher new rows are waiting.
func (u *uplinkPart) Kick() { u.pub.Kick() }

// Condition is the uplink's state as the LEDs show it.
func (u *uplinkPart) Condition() hw.UplinkState {
	st := u.pub.Status()
	switch {
	case st.State != uplink.StateConnected:
		return hw.UplinkOffline
	case st.Backlog > 0:
		return hw.UplinkBacklogged
	default:
		return hw.UplinkOnline
	}
}

// SetGauges hands the live queue figures to the publisher (retained "live" topic, Home Assistant).
func (u *uplinkPart) SetGauges(s Status) {
	u.pub.SetLive(uplink.Live{At: time.Now().UTC(), CallersWaiting: s.Waiting, AgentsAvailable: s.AgentsAvailable,
		LongestWaitS: s.LongestWait.Seconds(), CallsToday: int64(s.CallsToday), BlockedPctToday: s.BlockedToday,
		AvgWaitTodayS: s.AvgWaitToday.Seconds()})
}

// outboxAdapter lets the publisher drain the store's outbox.
type outboxAdapter struct{ st *store.Store }

func (o outboxAdapter) OutboxAfter(ctx context.Context, after int64, limit int) ([]uplink.Entry, error) {
	rows, err := o.st.OutboxAfter(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]uplink.Entry, len(rows))
	for i, r := range rows {
		out[i] = uplink.Entry{Seq: r.Seq, ID: r.ID, Topic: r.Topic, Payload: r.Payload, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

func (o outboxAdapter) OutboxAck(ctx context.Context, seqs ...int64) error {
	return o.st.OutboxAck(ctx, seqs...)
}

func (o outboxAdapter) OutboxBacklog(ctx context.Context) (int64, time.Time, error) {
	return o.st.OutboxBacklog(ctx)
}

// rollupsFor computes the rollups the uplink keeps current: the previous hour (final) and the
// current one, and today's figures per source, all from the call records (product.md definitions).
func (u *uplinkPart) rollupsFor(ctx context.Context, m *metrics.Engine, now time.Time) ([]uplink.Rollup, error) {
	local := now.In(m.Location())
	hour := time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), 0, 0, 0, local.Location())
	var out []uplink.Rollup
	for _, p := range []metrics.Period{{From: hour.Add(-time.Hour), To: hour}, {From: hour, To: hour.Add(time.Hour)}} {
		rep, err := m.Report(ctx, p, metrics.Filter{})
		if err != nil {
			return nil, err
		}
		out = append(out, rollup("hour", rep, p, now))
	}
	today := m.Today()
	all, err := m.Report(ctx, today, metrics.Filter{})
	if err != nil {
		return nil, err
	}
	for _, s := range all.Sources {
		rep, err := m.Report(ctx, today, metrics.Filter{Source: s.Source, Campaign: s.Campaign, Medium: s.Medium})
		if err != nil {
			return nil, err
		}
		r := rollup("source", rep, today, now)
		r.Source, r.Campaign, r.Medium = s.Source, s.Campaign, s.Medium
		out = append(out, r)
	}
	return out, nil
}

func rollup(kind string, rep *metrics.Report, p metrics.Period, now time.Time) uplink.Rollup {
	r := uplink.Rollup{Kind: kind, PeriodStart: p.From, PeriodEnd: p.To, Final: !now.Before(p.To),
		Attempts: int64(rep.Volume), Connected: int64(rep.Outcomes[call.Connected]), Outcomes: map[string]int64{},
		ASAMs: ms(rep.Wait.Mean), AvgTalkMs: ms(rep.Talk.Mean), FirstTime: int64(rep.FirstTime),
		Leads: int64(rep.Leads), Converted: int64(rep.Converted), RevenueCents: rep.RevenueCents}
	r.Answered = int64(rep.Completion.Num)
	r.BlockedPct, _ = rep.Blocked.Percent()
	for o, n := range rep.Outcomes {
		r.Outcomes[string(o)] = int64(n)
	}
	return r
}

// Refresh recomputes the rollups and hands them to the publisher.
func (u *uplinkPart) Refresh(ctx context.Context, m *metrics.Engine, now time.Time) error {
	rs, err := u.rollupsFor(ctx, m, now)
	if err != nil {
		return err
	}
	u.pub.SetRollups(rs)
	return nil
}
