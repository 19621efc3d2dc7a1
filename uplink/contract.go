package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ContractVersion is the payload version ("v" in every JSON payload) and the topic version
// (ringside/v1/...). A change that breaks a consumer bumps both.
const ContractVersion = 1

// Relative topics under a device's base topic (CONTRACT.md, "Topics").
const (
	TopicStatus       = "status"
	TopicCall         = "call"
	TopicRollupHour   = "rollup/hour"
	TopicRollupSource = "rollup/source"
	TopicLive         = "live"
)

// Topics names one device's place in the topic tree: <prefix>/<site>/<device>/...
type Topics struct {
	Prefix string // default "ringside/v1"
	Site   string
	Device string
}

// Validate rejects empty levels and characters MQTT reserves in topic names (§4.7.1: + # and the
// separator / inside a level; §4.7.3: no NUL).
func (t Topics) Validate() error {
	if t.Prefix == "" || strings.HasPrefix(t.Prefix, "/") || strings.HasSuffix(t.Prefix, "/") || strings.ContainsAny(t.Prefix, "+#\x00") {
		return fmt.Errorf("%w: uplink.topic_prefix %q: want levels such as ringside/v1", ErrConfig, t.Prefix)
	}
	for key, v := range map[string]string{"site": t.Site, "device": t.Device} {
		if v == "" || strings.ContainsAny(v, "/+#\x00") {
			return fmt.Errorf("%w: %s %q: want a non-empty topic level without / + #", ErrConfig, key, v)
		}
	}
	return nil
}

// Base is <prefix>/<site>/<device>.
func (t Topics) Base() string { return t.Prefix + "/" + t.Site + "/" + t.Device }

// Abs resolves a relative topic ("call", "rollup/hour") against the device's base.
func (t Topics) Abs(rel string) string { return t.Base() + "/" + rel }

// Message is what the edge stores in its outbox: a message id consumers dedupe by, a topic relative
// to the device's base (so a changed prefix applies to rows still waiting), and the payload without
// its seq (the publisher stamps it, see StampSeq).
type Message struct {
	ID      string
	Topic   string
	Payload []byte
}

// Entry is one outbox row as the Publisher reads it.
type Entry struct {
	Seq       int64 // the per-device sequence number: increasing, never reused
	ID        string
	Topic     string // relative, as in Message
	Payload   []byte
	CreatedAt time.Time
}

// Outbox is the store-and-forward queue the Publisher drains. The edge's store implements it (with
// an adapter for its own entry type); uplinktest.SQLiteOutbox is a stand-alone one for tests.
type Outbox interface {
	// OutboxAfter returns up to limit rows with seq > after, lowest seq first.
	OutboxAfter(ctx context.Context, after int64, limit int) ([]Entry, error)
	// OutboxAck deletes rows whose PUBACK arrived.
	OutboxAck(ctx context.Context, seqs ...int64) error
	// OutboxBacklog counts the rows waiting and gives the creation time of the oldest.
	OutboxBacklog(ctx context.Context) (n int64, oldest time.Time, err error)
}

// Summary is one finished call attempt as it leaves the box on .../call (CONTRACT.md, "call").
// Times are UTC wall clock; durations are milliseconds from the monotonic clock.
type Summary struct {
	V        int    `json:"v"`
	Seq      int64  `json:"seq,omitempty"` // stamped by the publisher; 0 in stored payloads
	ID       string `json:"id"`            // message id: <call_id>/<revision>; dedupe by this
	CallID   string `json:"call_id"`
	Revision int    `json:"revision"` // 0 at the end of the call, +1 for each later update (tags)
	Site     string `json:"site"`
	Device   string `json:"device"`

	Arrived   time.Time `json:"arrived"`
	Answered  time.Time `json:"answered,omitzero"`
	Connected time.Time `json:"connected,omitzero"`
	Ended     time.Time `json:"ended"`

	WaitMs    int64 `json:"wait_ms"`
	TalkMs    int64 `json:"talk_ms"`
	HoldMs    int64 `json:"hold_ms"`
	HoldCount int   `json:"hold_count"`

	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`

	Line           string      `json:"line"`
	TrackingNumber string      `json:"tracking_number"`
	Attribution    Attribution `json:"attribution"`
	Queue          string      `json:"queue,omitempty"`
	Agent          string      `json:"agent,omitempty"`
	FirstTime      bool        `json:"first_time"`

	Caller  Caller  `json:"caller"`
	Tags    Tags    `json:"tags"`
	Quality Quality `json:"quality"`
}

// Attribution is the marketing source the call is credited to.
type Attribution struct {
	Source   string `json:"source"`
	Campaign string `json:"campaign,omitempty"`
	Medium   string `json:"medium,omitempty"`
	Keyword  string `json:"keyword,omitempty"`
	GCLID    string `json:"gclid,omitempty"`
}

// Caller is the caller's number in the form the site's privacy mode allows.
type Caller struct {
	Privacy  CallerMode `json:"privacy"`          // full, masked, hashed, omit
	Number   string     `json:"number,omitempty"` // per Privacy; absent when omitted or withheld
	Withheld bool       `json:"withheld"`
}

// Tags are the staff's (or the lead rule's) verdict on the call.
type Tags struct {
	Lead         bool  `json:"lead"`
	Converted    bool  `json:"converted"`
	RevenueCents int64 `json:"revenue_cents"`
}

// Quality is the audio quality per RTP leg.
type Quality struct {
	Caller LegQuality `json:"caller"`
	Agent  LegQuality `json:"agent"`
}

// LegQuality is one leg's RFC 3550 statistics and ITU-T G.107 MOS estimate.
type LegQuality struct {
	Packets  int64   `json:"packets"`
	LossPct  float64 `json:"loss_pct"`
	JitterMs float64 `json:"jitter_ms"`
	MOS      float64 `json:"mos"`
}

// Encoder turns summaries into outbox messages for one device, applying the site's caller privacy.
type Encoder struct {
	topics  Topics
	privacy Privacy
}

// NewEncoder checks the topics and privacy settings.
func NewEncoder(t Topics, p Privacy) (*Encoder, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Encoder{topics: t, privacy: p}, nil
}

// Call encodes a finished call for the outbox. callerNumber is the raw E.164 number ("" when
// withheld); the encoder replaces it per the privacy mode, so a full number is never stored for the
// uplink unless the site chose "full". s.Caller is ignored; s.Seq is left to the publisher; s.ID,
// s.V, s.Site and s.Device are filled in. The edge calls this when the call ends (revision 0) and
// again with a higher revision when staff tag the call.
func (e *Encoder) Call(s Summary, callerNumber string) (Message, error) {
	if s.CallID == "" || s.Revision < 0 {
		return Message{}, fmt.Errorf("%w: a summary needs its call id and a revision >= 0", ErrPayload)
	}
	s.V = ContractVersion
	s.Seq = 0
	s.ID = s.CallID + "/" + strconv.Itoa(s.Revision)
	s.Site, s.Device = e.topics.Site, e.topics.Device
	s.Arrived, s.Answered, s.Connected, s.Ended = utcMs(s.Arrived), utcMs(s.Answered), utcMs(s.Connected), utcMs(s.Ended)
	s.Caller = e.privacy.Caller(callerNumber)
	b, err := json.Marshal(s)
	if err != nil {
		return Message{}, fmt.Errorf("encode summary %s: %w", s.ID, err)
	}
	return Message{ID: s.ID, Topic: TopicCall, Payload: b}, nil
}

func utcMs(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Millisecond)
}

// StampSeq returns payload with "seq":seq as its first member. payload must be a JSON object
// without a seq member (as Encoder.Call makes it); StampSeq does not parse the rest, so it costs one
// copy. Anything else is ErrPayload.
func StampSeq(payload []byte, seq int64) ([]byte, error) {
	p := bytes.TrimLeft(payload, " \t\r\n")
	if len(p) < 2 || p[0] != '{' || seq <= 0 {
		return nil, fmt.Errorf("%w: cannot stamp seq %d into a payload that is not a JSON object", ErrPayload, seq)
	}
	rest := bytes.TrimLeft(p[1:], " \t\r\n")
	if len(rest) == 0 {
		return nil, fmt.Errorf("%w: unterminated JSON object", ErrPayload)
	}
	out := make([]byte, 0, len(p)+24)
	out = append(out, `{"seq":`...)
	out = strconv.AppendInt(out, seq, 10)
	if rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}

// DecodeSummary parses a .../call payload as a consumer would, checking what a consumer relies on:
// the version, an id, a seq, and an outcome.
func DecodeSummary(b []byte) (Summary, error) {
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return Summary{}, fmt.Errorf("%w: %w", ErrPayload, err)
	}
	switch {
	case s.V != ContractVersion:
		return Summary{}, fmt.Errorf("%w: version %d, want %d", ErrPayload, s.V, ContractVersion)
	case s.ID == "" || s.CallID == "":
		return Summary{}, fmt.Errorf("%w: no id", ErrPayload)
	case s.Seq <= 0:
		return Summary{}, fmt.Errorf("%w: summary %s has no seq", ErrPayload, s.ID)
	case s.Outcome == "":
		return Summary{}, fmt.Errorf("%w: summary %s has no outcome", ErrPayload, s.ID)
	}
	return s, nil
}

// Rollup is an aggregate over a period (CONTRACT.md, "rollup/hour", "rollup/source"), computed by
// the edge from call records with the metric definitions of product.md. Rollups are derived data:
// a later rollup for the same (kind, source, period_start) replaces an earlier one.
type Rollup struct {
	V           int       `json:"v"`
	Kind        string    `json:"kind"` // "hour" or "source"
	Site        string    `json:"site"`
	Device      string    `json:"device"`
	PeriodStart time.Time `json:"period_start"` // site-local time with its offset
	PeriodEnd   time.Time `json:"period_end"`
	Final       bool      `json:"final"` // the period has ended

	Source   string `json:"source,omitempty"` // kind "source" only
	Campaign string `json:"campaign,omitempty"`
	Medium   string `json:"medium,omitempty"`

	Attempts     int64            `json:"attempts"`
	Answered     int64            `json:"answered"`
	Connected    int64            `json:"connected"`
	Outcomes     map[string]int64 `json:"outcomes"`
	BlockedPct   float64          `json:"blocked_pct"`
	ASAMs        int64            `json:"asa_ms"`
	AvgTalkMs    int64            `json:"avg_talk_ms"`
	FirstTime    int64            `json:"first_time"`
	Leads        int64            `json:"leads"`
	Converted    int64            `json:"converted"`
	RevenueCents int64            `json:"revenue_cents"`
}

// Live is the queue right now (CONTRACT.md, "live"); the same payload feeds the Home Assistant sensors.
type Live struct {
	V               int       `json:"v"`
	At              time.Time `json:"at"`
	CallersWaiting  int       `json:"callers_waiting"`
	AgentsAvailable int       `json:"agents_available"`
	LongestWaitS    float64   `json:"longest_wait_s"`
	CallsToday      int64     `json:"calls_today"`
	BlockedPctToday float64   `json:"blocked_pct_today"`
	AvgWaitTodayS   float64   `json:"avg_wait_today_s"`
}

// StatusPayload is the retained .../status message. The last will is {"v":1,"state":"offline","uplink":"lost"}.
type StatusPayload struct {
	V       int       `json:"v"`
	State   string    `json:"state"`  // online | offline
	Uplink  State     `json:"uplink"` // the publisher's state when it wrote this
	Backlog int64     `json:"backlog"`
	Oldest  time.Time `json:"oldest,omitzero"` // creation time of the oldest waiting row
	LastSeq int64     `json:"last_seq"`        // highest seq acknowledged by the broker in this process
	Since   time.Time `json:"since,omitzero"`  // connected since
	At      time.Time `json:"at,omitzero"`
}

// willPayload is the last will: the broker publishes it, retained, when the connection dies
// without a DISCONNECT (MQTT 3.1.1 §3.1.2.5).
const willPayload = `{"v":1,"state":"offline","uplink":"lost"}`
