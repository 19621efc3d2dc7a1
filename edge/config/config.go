package config

import "time"

// Config is the whole appliance configuration: one YAML file. Field comments say what each key means;
// the Default... constants in defaults.go say what an absent key becomes and why.
type Config struct {
	Site            Site             `yaml:"site"`
	StateDir        string           `yaml:"state_dir"`
	DrainTimeout    Duration         `yaml:"drain_timeout"` // SIGTERM waits this long for live calls
	SIP             SIP              `yaml:"sip"`
	Lines           []Line           `yaml:"lines"`
	TrackingNumbers []TrackingNumber `yaml:"tracking_numbers"`
	Pools           []Pool           `yaml:"pools"`
	MarketingCosts  []MarketingCost  `yaml:"marketing_costs"`
	Queues          []Queue          `yaml:"queues"`
	Agents          []Agent          `yaml:"agents"`
	Hours           map[string]Hours `yaml:"business_hours"`
	Recording       Recording        `yaml:"recording"`
	Metrics         Metrics          `yaml:"metrics"`
	Retention       Retention        `yaml:"retention"`
	Uplink          Uplink           `yaml:"uplink"`
	Web             Web              `yaml:"web"`
	LEDs            LEDs             `yaml:"leds"`
	Button          Button           `yaml:"button"`

	src source // the file and key lines it was parsed from, for Locate
}

// Site names the office and its clock.
type Site struct {
	Name     string `yaml:"name"`
	Device   string `yaml:"device"`    // device id in MQTT topics; default: the site name, slugged
	TimeZone string `yaml:"time_zone"` // IANA zone; every period is cut in this zone
	Region   string `yaml:"region"`    // ISO 3166 region for numbers written without a country code
	Currency string `yaml:"currency"`  // ISO 4217, display only

	Location *time.Location `yaml:"-"`
}

// SIP is the signalling and media setup.
type SIP struct {
	Listen       []string `yaml:"listen"`        // "udp:ADDR:PORT", "tcp:...", "tls:..."
	TLSCert      string   `yaml:"tls_cert"`      // PEM file; TLS listeners need it
	TLSKey       string   `yaml:"tls_key"`       //
	PublicAddr   string   `yaml:"public_addr"`   // address put in Contact and SDP; default: the listen address
	RTPPortMin   int      `yaml:"rtp_port_min"`  //
	RTPPortMax   int      `yaml:"rtp_port_max"`  //
	MaxCalls     int      `yaml:"max_calls"`     // concurrent calls on the whole appliance; over it: busy
	MediaTimeout Duration `yaml:"media_timeout"` // no RTP for this long: release, outcome failed
	BusyCode     int      `yaml:"busy_code"`     // SIP status for a busy refusal
	Realm        string   `yaml:"realm"`         // digest realm
	MaxMessage   int      `yaml:"max_message"`   // bytes; larger messages are refused
	BanAfter     int      `yaml:"ban_after"`     // auth failures from one address before a ban
	BanFor       Duration `yaml:"ban_for"`       //
	RateLimit    int      `yaml:"rate_limit"`    // requests per second per source address
	// TrustedRateLimit is the budget of trunks and registered phones (0: the SIP side's default);
	// over it they are slowed, never banned.
	TrustedRateLimit int `yaml:"trusted_rate_limit"`
	// TCPIdleTimeout and TCPMaxConnsPerAddr bound SIP over TCP/TLS (0: the SIP side's defaults).
	TCPIdleTimeout     Duration `yaml:"tcp_idle_timeout"`
	TCPMaxConnsPerAddr int      `yaml:"tcp_max_conns_per_addr"`
}

// Line is one way calls come in: an ATA or IP-PBX account, a SIP trunk admitted by address, or an
// analog line on a USB FXO interface.
type Line struct {
	ID             string   `yaml:"id"`
	Kind           string   `yaml:"kind"` // sip_account, sip_trunk, fxo
	Username       string   `yaml:"username"`
	Password       string   `yaml:"password"`
	PasswordFile   string   `yaml:"password_file"`   // the password in a file instead; may start with ${CREDENTIALS_DIRECTORY}
	Addresses      []string `yaml:"addresses"`       // sip_trunk: CIDRs or IPs admitted
	TrackingNumber string   `yaml:"tracking_number"` // the number this line stands for when no DID arrives
	MaxCalls       int      `yaml:"max_calls"`
	FXO            *FXO     `yaml:"fxo"`
}

// FXO describes an analog port on a USB line interface.
type FXO struct {
	AudioDevice       string `yaml:"audio_device"`
	RingPin           string `yaml:"ring_pin"`
	HookPin           string `yaml:"hook_pin"`
	HookActiveLow     bool   `yaml:"hook_active_low"`
	Country           string `yaml:"country"`   // tones and cadences: US, UK, DE, FR, ...
	CallerID          string `yaml:"caller_id"` // bell202, v23, dtmf, none
	RingsBeforeAnswer int    `yaml:"rings_before_answer"`
	Simulated         bool   `yaml:"simulated"`
}

// TrackingNumber ties a number a caller can dial to a marketing source and a route.
type TrackingNumber struct {
	Number     string `yaml:"number"`
	Source     string `yaml:"source"`
	Campaign   string `yaml:"campaign"`
	Medium     string `yaml:"medium"`
	Keyword    string `yaml:"keyword"`
	Queue      string `yaml:"queue"`
	Pool       string `yaml:"pool"`        // set for numbers of a dynamic (DNI) pool
	MonthlyFee Money  `yaml:"monthly_fee"` // the number's rental, prorated over the period
	PerMinute  Money  `yaml:"per_minute"`  // telephony rate per billed minute
	Record     *bool  `yaml:"record"`      // nil: the queue's or the site's choice
}

// Pool is a dynamic number pool: the website shows each visitor one of its numbers for the visit.
type Pool struct {
	Name        string   `yaml:"name"`
	Source      string   `yaml:"source"` // credited when no visit matches the call
	VisitLength Duration `yaml:"visit_length"`
}

// MarketingCost is what a source costs per month, for cost per call and per lead.
type MarketingCost struct {
	Source  string `yaml:"source"`
	Monthly Money  `yaml:"monthly"`
}

// Queue is a call queue (ACD).
type Queue struct {
	Name          string        `yaml:"name"`
	Strategy      string        `yaml:"strategy"` // ring_all, round_robin, longest_idle, weighted
	Members       []QueueMember `yaml:"members"`
	RingTimeout   Duration      `yaml:"ring_timeout"`
	WrapUp        Duration      `yaml:"wrap_up"`
	MaxWait       Duration      `yaml:"max_wait"`
	MaxCallers    int           `yaml:"max_callers"`
	Overflow      Overflow      `yaml:"overflow"`
	Hours         string        `yaml:"hours"`          // a business_hours name; empty: always open
	ClosedAction  string        `yaml:"closed_action"`  // reject (480), or announce: answer, play closed_message, hang up
	ClosedMessage string        `yaml:"closed_message"` // WAV for closed_action announce
	HoldMusic     string        `yaml:"hold_music"`     // WAV file; empty: the built-in tune
	Greeting      string        `yaml:"greeting"`       // WAV file played once on answer
	Record        *bool         `yaml:"record"`
	Announcement  string        `yaml:"announcement"` // WAV "this call may be recorded"
}

// QueueMember is an agent in a queue, with its weight for the weighted strategy.
type QueueMember struct {
	Agent  string `yaml:"agent"`
	Weight int    `yaml:"weight"`
}

// Overflow says where a caller goes after the queue's maximum wait.
type Overflow struct {
	Queue string `yaml:"queue"`
	URI   string `yaml:"uri"`
}

// Agent is a member of staff with a SIP desk phone that registers to the appliance.
type Agent struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// PasswordFile holds the password instead of the YAML; it may start with ${CREDENTIALS_DIRECTORY}.
	PasswordFile string `yaml:"password_file"`
}

// Hours is a weekly schedule, e.g. mon: "08:00-12:00,13:00-17:30", with dated closures.
type Hours struct {
	Week     map[string]string `yaml:"week"`
	Holidays []string          `yaml:"holidays"` // YYYY-MM-DD, closed all day

	Spans map[time.Weekday][]Span `yaml:"-"`
}

// Span is an open interval of the day, minutes since local midnight.
type Span struct{ From, To int }

// Recording is the site-wide recording policy.
type Recording struct {
	Enabled      bool   `yaml:"enabled"`
	Announcement string `yaml:"announcement"`
	// IncludeQueue starts a recording when the box answers, so it holds the wait in the queue too
	// (and calls abandoned there). Off, the default: it starts when an agent connects.
	IncludeQueue  bool `yaml:"include_queue"`
	RetentionDays int  `yaml:"retention_days"`
	QuotaMB       int  `yaml:"quota_mb"`
	LowDiskMB     int  `yaml:"low_disk_mb"`
}

// Metrics holds the knobs of the metric definitions (product.md).
type Metrics struct {
	ServiceLevelSeconds int      `yaml:"service_level_seconds"`
	ServiceLevelTarget  float64  `yaml:"service_level_target"`
	BlockedTarget       float64  `yaml:"blocked_target"`
	ShortAbandon        Duration `yaml:"short_abandon"`
	RepeatLookbackDays  int      `yaml:"repeat_lookback_days"`
	LeadRule            LeadRule `yaml:"lead_rule"`
	BillingIncrement    Duration `yaml:"billing_increment"`
	CacheMB             int      `yaml:"cache_mb"` // memory for the figures' cache of call facts
}

// LeadRule marks a call as a lead when no staff member has decided.
type LeadRule struct {
	Enabled       *bool    `yaml:"enabled"`
	MinTalk       Duration `yaml:"min_talk"`
	FirstTimeOnly *bool    `yaml:"first_time_only"`
}

// Retention bounds how long call records are kept.
type Retention struct {
	RecordDays int `yaml:"record_days"`
}

// Uplink is the MQTT connection to the central dashboard.
type Uplink struct {
	Enabled       bool     `yaml:"enabled"`
	Broker        string   `yaml:"broker"` // tcp://host:1883, ssl://host:8883
	ClientID      string   `yaml:"client_id"`
	Username      string   `yaml:"username"`
	Password      string   `yaml:"password"`
	CAFile        string   `yaml:"ca_file"`
	CertFile      string   `yaml:"cert_file"`
	KeyFile       string   `yaml:"key_file"`
	TopicPrefix   string   `yaml:"topic_prefix"`
	CallerNumber  string   `yaml:"caller_number"` // full, masked, hashed, omit
	HashSecret    string   `yaml:"hash_secret"`
	RatePerSec    int      `yaml:"rate_per_sec"`
	InFlight      int      `yaml:"in_flight"`
	HomeAssistant bool     `yaml:"home_assistant"`
	Keepalive     Duration `yaml:"keepalive"`
}

// Web is the local status page and API.
type Web struct {
	Listen            string `yaml:"listen"`
	AdminUser         string `yaml:"admin_user"`
	AdminPasswordHash string `yaml:"admin_password_hash"`
	WallboardToken    string `yaml:"wallboard_token"`
	MetricsAuth       *bool  `yaml:"metrics_auth"`
	// PublicURL is the page's address as people and Home Assistant reach it (http://ringside.local:8080/);
	// optional: Home Assistant links to it from the device page when it is set.
	PublicURL string `yaml:"public_url"`
}

// LEDs maps each status LED to a GPIO pin. An empty pin means no such LED.
type LEDs struct {
	Simulated bool `yaml:"simulated"`
	Ready     LED  `yaml:"ready"`
	Calls     LED  `yaml:"calls"`
	Alarm     LED  `yaml:"alarm"`
	Uplink    LED  `yaml:"uplink"`
}

// LED is one output pin and its polarity.
type LED struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low"`
}

// Button is the front-panel button: short press toggles night mode, long press acknowledges the alarm.
type Button struct {
	Pin       string   `yaml:"pin"`
	ActiveLow bool     `yaml:"active_low"`
	LongPress Duration `yaml:"long_press"`
}

// Lead reports whether a call counts as a lead by this rule (product.md "Lead"): default connected,
// first-time, talk time of at least MinTalk. A staff decision overrides it; the caller checks that.
func (r LeadRule) Lead(connected, firstTime, withheld bool, talk time.Duration) bool {
	if r.Enabled == nil || !*r.Enabled || !connected || talk < r.MinTalk.D() {
		return false
	}
	if r.FirstTimeOnly != nil && *r.FirstTimeOnly && (!firstTime || withheld) {
		return false
	}
	return true
}
