package pbx

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ringside/ringside/telephony/acd"
)

// Listener is one SIP socket.
type Listener struct {
	Network  string // udp, tcp or tls
	Addr     string // host:port
	CertFile string // tls only
	KeyFile  string
}

// LineAccount is an ATA or IP-PBX that registers (and authenticates its INVITEs) as a line.
type LineAccount struct {
	ID       string
	Username string
	Password string
	MaxCalls int // 0: only the appliance limit applies
	// Internal marks the appliance's own FXO ports: their INVITEs may say, in HeaderArrivedAgo,
	// how long the line rang before it was answered, and the call's arrival is moved back by it.
	Internal bool
}

// HeaderArrivedAgo carries, from an internal line, the milliseconds between the call's start on the
// line (an analog line's first ring) and its INVITE.
const HeaderArrivedAgo = "X-Ringside-Arrived-Ago"

// Trunk is a line admitted by source address, without registration.
type Trunk struct {
	ID       string
	Sources  []netip.Prefix
	MaxCalls int
}

// AgentAccount is an agent's phone.
type AgentAccount struct {
	ID       string // the name queues use
	Username string
	Password string
}

// ClosedAction says what happens to a call outside business hours or in night mode.
type ClosedAction string

// Closed actions.
const (
	ClosedRefuse   ClosedAction = "refuse"   // reply ClosedCode without answering
	ClosedAnnounce ClosedAction = "announce" // answer, play the queue's closed announcement, hang up
)

// Queue is one queue as the SIP side sees it.
type Queue struct {
	Name        string
	Strategy    acd.Strategy
	Members     []acd.Member
	RingTimeout time.Duration // per agent attempt
	WrapUp      time.Duration
	MaxWait     time.Duration // 0: wait forever
	MaxCallers  int           // 0: unlimited
	// OverflowQueue or OverflowURI (at most one) receives callers who waited MaxWait. The URI must
	// be written in the config; it is the only place the appliance calls out to.
	OverflowQueue string
	OverflowURI   string
	HoldMusic     string // WAV path; empty: the built-in tune
	Greeting      string // optional WAV, played once after answering
	Announcement  string // optional WAV ("this call may be recorded"), after the greeting, to recorded calls (Route.Record)
	ClosedMessage string // optional WAV for ClosedAnnounce
	// Open reports business hours; nil means always open.
	Open         func(t time.Time) bool
	ClosedAction ClosedAction
}

// Config is everything the SIP side needs.
type Config struct {
	Listeners []Listener
	Realm     string
	// PublicAddr is the address written in SDP and Contact headers (the box's LAN address).
	PublicAddr netip.Addr
	Lines      []LineAccount
	Trunks     []Trunk
	Agents     []AgentAccount
	Queues     []Queue

	// Admit, when set, is asked before each new call is taken: an error refuses the call with
	// 503 Service Unavailable (a trunk fails over to its next route; RFC 3261 21.5.4), the error's
	// text as the call's reason. The appliance refuses calls while their records cannot be saved.
	Admit func() error
	// Saved, when set, is waited for (at most SavedTimeout) before a call is answered: it returns
	// once every event published so far, the call's arrival among them, is durable. An error
	// refuses the call with 503 instead, so no caller hears an answer to a call without a record
	// (a power cut or a kill right after the 200 OK would lose it).
	Saved func(ctx context.Context) error
	// SavedTimeout bounds the wait on Saved (0 = DefaultSavedTimeout).
	SavedTimeout time.Duration

	MaxCalls       int           // appliance-wide concurrent calls
	MediaTimeout   time.Duration // no RTP from the caller for this long: release, failed; 0 = default, <0 disables
	BusyCode       int           // reply when the queue or a line is full
	ClosedCode     int           // reply for ClosedRefuse
	NoAgentCode    int           // reply when no agent is logged in
	MaxMessageSize int           // bytes; larger SIP messages are refused
	BanAfter       int           // auth failures from one address before it is banned
	BanFor         time.Duration
	RateLimit      float64 // requests per second per source address (token bucket)
	RateBurst      int
	RTPPortMin     int
	RTPPortMax     int
	MaxExpires     time.Duration // longest registration granted
	MinExpires     time.Duration // shortest registration accepted (423 below)
	NonceTTL       time.Duration

	// TrustedRateLimit and TrustedRateBurst are the budget of trusted sources (a trunk's addresses,
	// the address of a live registration): never below RateLimit/RateBurst, and over it their
	// requests are dropped but the source is never banned.
	TrustedRateLimit float64
	TrustedRateBurst int
	// TCPIdleTimeout closes a TCP or TLS connection that sent nothing for this long (CRLF
	// keep-alives count), except from trusted sources; 0 = default, <0 disables.
	// TCPMaxConnsPerAddr caps the connections one address may hold open.
	TCPIdleTimeout     time.Duration
	TCPMaxConnsPerAddr int
	// Registrations keeps bindings across restarts; nil keeps them in memory only.
	Registrations Registrations
}

// Defaults, each with the reason for its value.
const (
	// DefaultBusyCode: 486 Busy Here is what phones and carriers turn into a busy tone.
	DefaultBusyCode = 486
	// DefaultClosedCode: 480 Temporarily Unavailable says "try later" without implying an error.
	DefaultClosedCode = 480
	// DefaultNoAgentCode: 480 as well; the caller's side plays its unavailable treatment.
	DefaultNoAgentCode = 480
	// DefaultMaxMessageSize: real INVITEs with SDP are 1-3 KB; 16 KB leaves room for long Via chains.
	DefaultMaxMessageSize = 16 << 10
	// DefaultBanAfter and DefaultBanFor follow common fail2ban jails for SIP (5 tries, 10 minutes).
	DefaultBanAfter = 5
	DefaultBanFor   = 10 * time.Minute
	// DefaultRateLimit: a phone sends a few requests a second at most; scanners send hundreds
	// (Kamailio's pike default is 16 requests per 2 s).
	DefaultRateLimit = 50
	DefaultRateBurst = 100
	// DefaultTrustedRateLimit / DefaultTrustedRateBurst: a trunk carries the whole office; 100
	// calls set up in the same second are about 500 requests and responses.
	DefaultTrustedRateLimit = 500
	DefaultTrustedRateBurst = 1000
	// DefaultTCPIdleTimeout: Kamailio's tcp_connection_lifetime default; a phone that wants to keep
	// its connection sends CRLF keep-alives (RFC 5626) far more often.
	DefaultTCPIdleTimeout = 2 * time.Minute
	// DefaultTCPMaxConnsPerAddr: a phone holds one or two connections, an IP-PBX a few; 32 from
	// each address keeps the whole LAN far below the unit's file limit.
	DefaultTCPMaxConnsPerAddr = 32
	// DefaultSavedTimeout: a group commit with its fsync takes milliseconds, tens on an SD card;
	// a disk that takes seconds is failing, and the caller is better refused (503: the trunk tries
	// its next route) than answered without a record.
	DefaultSavedTimeout = 2 * time.Second
	// DefaultMediaTimeout: 30 s without RTP means the far end is gone (Asterisk's rtptimeout default).
	DefaultMediaTimeout = 30 * time.Second
	// DefaultRingTimeout: about five rings.
	DefaultRingTimeout = 20 * time.Second
	// DefaultMaxExpires / DefaultMinExpires: RFC 3261 section 10.2.1 default of 3600 s; 60 s floor
	// keeps re-registration floods down.
	DefaultMaxExpires = time.Hour
	DefaultMinExpires = 60 * time.Second
	// DefaultNonceTTL: a nonce lives 5 minutes, long enough for one call setup, short enough to make
	// replay useless.
	DefaultNonceTTL = 5 * time.Minute
	// DefaultRTPPortMin/Max: the common 10000-20000 range of PBXes.
	DefaultRTPPortMin = 10000
	DefaultRTPPortMax = 20000
	// DefaultMaxCalls: a Pi-class box relays a few hundred G.711 calls comfortably.
	DefaultMaxCalls = 100
)

// withDefaults fills unset fields and rejects conflicting settings, naming the key.
func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.BusyCode, DefaultBusyCode)
	def(&c.ClosedCode, DefaultClosedCode)
	def(&c.NoAgentCode, DefaultNoAgentCode)
	def(&c.MaxMessageSize, DefaultMaxMessageSize)
	def(&c.BanAfter, DefaultBanAfter)
	defd(&c.BanFor, DefaultBanFor)
	defd(&c.SavedTimeout, DefaultSavedTimeout)
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	def(&c.RateBurst, DefaultRateBurst)
	if c.TrustedRateLimit == 0 {
		c.TrustedRateLimit = DefaultTrustedRateLimit
	}
	def(&c.TrustedRateBurst, DefaultTrustedRateBurst)
	c.TrustedRateLimit = max(c.TrustedRateLimit, c.RateLimit)
	c.TrustedRateBurst = max(c.TrustedRateBurst, c.RateBurst)
	defd(&c.TCPIdleTimeout, DefaultTCPIdleTimeout)
	def(&c.TCPMaxConnsPerAddr, DefaultTCPMaxConnsPerAddr)
	def(&c.RTPPortMin, DefaultRTPPortMin)
	def(&c.RTPPortMax, DefaultRTPPortMax)
	def(&c.MaxCalls, DefaultMaxCalls)
	defd(&c.MaxExpires, DefaultMaxExpires)
	defd(&c.MinExpires, DefaultMinExpires)
	defd(&c.NonceTTL, DefaultNonceTTL)
	defd(&c.MediaTimeout, DefaultMediaTimeout)
	if c.Realm == "" {
		c.Realm = "ringside"
	}
	if c.TCPMaxConnsPerAddr < 0 {
		return c, fmt.Errorf("%w: tcp_max_conns_per_addr: %d is negative", ErrConfig, c.TCPMaxConnsPerAddr)
	}
	if len(c.Listeners) == 0 {
		return c, fmt.Errorf("%w: listeners: none", ErrConfig)
	}
	for i, l := range c.Listeners {
		switch l.Network {
		case "udp", "tcp":
		case "tls":
			if l.CertFile == "" || l.KeyFile == "" {
				return c, fmt.Errorf("%w: listeners[%d]: tls needs cert and key", ErrConfig, i)
			}
		default:
			return c, fmt.Errorf("%w: listeners[%d].network: %q", ErrConfig, i, l.Network)
		}
	}
	if !c.PublicAddr.IsValid() {
		return c, fmt.Errorf("%w: public_addr: not set", ErrConfig)
	}
	for _, code := range []int{c.BusyCode, c.ClosedCode, c.NoAgentCode} {
		if code < 400 || code > 699 {
			return c, fmt.Errorf("%w: busy/closed/no-agent code %d is not a final error response", ErrConfig, code)
		}
	}
	users := map[string]string{}
	for _, l := range c.Lines {
		if l.Username == "" || l.Password == "" {
			return c, fmt.Errorf("%w: lines[%s]: username and password required", ErrConfig, l.ID)
		}
		if prev, dup := users[l.Username]; dup {
			return c, fmt.Errorf("%w: lines[%s].username %q also used by %s", ErrConfig, l.ID, l.Username, prev)
		}
		users[l.Username] = "line " + l.ID
	}
	for _, a := range c.Agents {
		if a.Username == "" || a.Password == "" || a.ID == "" {
			return c, fmt.Errorf("%w: agents[%s]: id, username and password required", ErrConfig, a.ID)
		}
		if prev, dup := users[a.Username]; dup {
			return c, fmt.Errorf("%w: agents[%s].username %q also used by %s", ErrConfig, a.ID, a.Username, prev)
		}
		users[a.Username] = "agent " + a.ID
	}
	queues := map[string]bool{}
	for _, q := range c.Queues {
		queues[q.Name] = true
	}
	for i := range c.Queues {
		q := &c.Queues[i]
		defd(&q.RingTimeout, DefaultRingTimeout)
		if q.ClosedAction == "" {
			q.ClosedAction = ClosedRefuse
		}
		if q.OverflowQueue != "" && q.OverflowURI != "" {
			return c, fmt.Errorf("%w: queues[%s]: overflow_queue and overflow_uri both set", ErrConfig, q.Name)
		}
		if q.OverflowQueue != "" && (!queues[q.OverflowQueue] || q.OverflowQueue == q.Name) {
			return c, fmt.Errorf("%w: queues[%s].overflow_queue %q: no such other queue", ErrConfig, q.Name, q.OverflowQueue)
		}
		if q.OverflowURI != "" && !strings.HasPrefix(q.OverflowURI, "sip:") {
			return c, fmt.Errorf("%w: queues[%s].overflow_uri %q: must be a sip: URI", ErrConfig, q.Name, q.OverflowURI)
		}
		for _, m := range q.Members {
			found := false
			for _, a := range c.Agents {
				found = found || a.ID == m.Agent
			}
			if !found {
				return c, fmt.Errorf("%w: queues[%s].members: unknown agent %q", ErrConfig, q.Name, m.Agent)
			}
		}
	}
	return c, nil
}
