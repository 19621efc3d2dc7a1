package config

import (
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Named defaults. Each says why it has its value.
const (
	// DefaultStateDir is where a packaged install keeps its database and recordings (systemd StateDirectory).
	DefaultStateDir = "/var/lib/ringside"
	// DefaultDrainTimeout: on SIGTERM (an upgrade, a reboot) live calls get a minute to finish; most
	// office calls are short, and systemd's stop timeout (90 s) is longer.
	DefaultDrainTimeout = time.Minute
	// DefaultRegion reads numbers without a country code as North American; most sites set their own.
	DefaultRegion = "US"
	// DefaultTimeZone is UTC so that a site which forgot to set its zone still cuts periods consistently.
	DefaultTimeZone = "UTC"
	// DefaultSIPListen is the standard SIP port on all addresses, UDP and TCP (RFC 3261 section 18).
	DefaultSIPListen = "0.0.0.0:5060"
	// DefaultRTPPortMin and Max give 5,000 even ports: more than the 1,000 concurrent calls we target.
	DefaultRTPPortMin = 10000
	DefaultRTPPortMax = 20000
	// DefaultMaxCalls bounds concurrent calls on the box; a Pi relays far more, but a small office
	// rarely has more lines than this and a limit turns overload into a clean busy.
	DefaultMaxCalls = 100
	// DefaultLineMaxCalls: an analog line carries one call; a trunk account may carry more.
	DefaultLineMaxCalls  = 1
	DefaultTrunkMaxCalls = 30
	// DefaultMediaTimeout: phones send RTP every 20 ms (or comfort noise every few seconds), so 30 s
	// of nothing means the other side is gone.
	DefaultMediaTimeout = 30 * time.Second
	// DefaultBusyCode is 486 Busy Here (RFC 3261 21.4.24).
	DefaultBusyCode = 486
	// DefaultRealm names the digest realm after the product.
	DefaultRealm = "ringside"
	// DefaultMaxMessage: UDP SIP above ~1300 bytes fragments (RFC 3261 18.1.1); 8 KiB allows TCP
	// messages with large SDP while refusing abuse.
	DefaultMaxMessage = 8192
	// DefaultBanAfter and DefaultBanFor follow fail2ban's usual asterisk jail: a handful of failures, a long ban.
	DefaultBanAfter = 10
	DefaultBanFor   = 10 * time.Minute
	// DefaultRateLimit per source address: a phone sends a few requests a second at most.
	DefaultRateLimit = 50

	// DefaultStrategy rings every free agent at once, the simplest behaviour for a small office.
	DefaultStrategy          = "ring_all"
	DefaultRingTimeout       = 20 * time.Second // about four rings
	DefaultWrapUp            = 5 * time.Second
	DefaultMaxWait           = 5 * time.Minute
	DefaultMaxCallers        = 10
	DefaultRingsBeforeAnswer = 2 // Bell 202 caller ID arrives between the first and second ring

	// Metric knobs, from product.md.
	DefaultServiceLevelSeconds = 20
	DefaultServiceLevelTarget  = 80.0
	DefaultBlockedTarget       = 5.0
	DefaultShortAbandon        = 5 * time.Second
	DefaultRepeatLookbackDays  = 365
	DefaultLeadMinTalk         = 60 * time.Second
	// DefaultBillingIncrement: carriers bill per started minute.
	DefaultBillingIncrement = time.Minute
	// DefaultMetricsCacheMB holds a year of a million calls' facts (80 to 110 bytes each with
	// the partial results; edge/metrics doc.go), so year reports come from memory: far more than
	// a small office's year, and an eighth of a 1 GB Raspberry Pi. Older days are read again.
	DefaultMetricsCacheMB = 128

	// DefaultRecordDays keeps call records two years, enough for year-on-year comparison.
	DefaultRecordDays = 730
	// DefaultRecordingRetentionDays: recordings are large and personal; keep them 90 days.
	DefaultRecordingRetentionDays = 90
	// DefaultRecordingQuotaMB: about 16 hours of stereo G.711 (1 MB a minute) on a small SD card.
	DefaultRecordingQuotaMB = 1024
	// DefaultLowDiskMB: the low-disk alarm, and the floor recordings leave free for the database
	// when they share its file system: years of call records at a few KB each.
	DefaultLowDiskMB = 256

	DefaultWebListen    = "0.0.0.0:8080"
	DefaultAdminUser    = "admin"
	DefaultTopicPrefix  = "ringside/v1"
	DefaultCallerNumber = "masked" // privacy by default: only the last four digits leave the box
	DefaultUplinkRate   = 200      // messages per second: gentle on a 4G stick
	DefaultInFlight     = 32
	DefaultKeepalive    = 30 * time.Second
	DefaultLongPress    = 2 * time.Second
	DefaultVisitLength  = 30 * time.Minute
)

var slugRe = regexp.MustCompile(`[^a-z0-9_-]+`)

// Slug makes a topic- and file-safe id out of a name.
func Slug(s string) string {
	s = slugRe.ReplaceAllString(strings.ToLower(strings.TrimSpace(s)), "-")
	s = strings.Trim(s, "-")
	if s == "" {
		return "ringside"
	}
	return s
}

func orDuration(d *Duration, def time.Duration) {
	if *d == 0 {
		*d = Duration(def)
	}
}

func orInt(v *int, def int) {
	if *v == 0 {
		*v = def
	}
}

func orString(v *string, def string) {
	if *v == "" {
		*v = def
	}
}

func abs(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// applyDefaults fills every absent value from the named defaults and makes relative paths absolute.
func applyDefaults(c *Config, base string) {
	orString(&c.Site.TimeZone, DefaultTimeZone)
	orString(&c.Site.Region, DefaultRegion)
	c.Site.Region = strings.ToUpper(c.Site.Region)
	orString(&c.Site.Device, Slug(c.Site.Name))
	orString(&c.StateDir, DefaultStateDir)
	orDuration(&c.DrainTimeout, DefaultDrainTimeout)
	c.StateDir = abs(base, c.StateDir)

	s := &c.SIP
	if len(s.Listen) == 0 {
		s.Listen = []string{"udp:" + DefaultSIPListen, "tcp:" + DefaultSIPListen}
	}
	orInt(&s.RTPPortMin, DefaultRTPPortMin)
	orInt(&s.RTPPortMax, DefaultRTPPortMax)
	orInt(&s.MaxCalls, DefaultMaxCalls)
	orDuration(&s.MediaTimeout, DefaultMediaTimeout)
	orInt(&s.BusyCode, DefaultBusyCode)
	orString(&s.Realm, DefaultRealm)
	orInt(&s.MaxMessage, DefaultMaxMessage)
	orInt(&s.BanAfter, DefaultBanAfter)
	orDuration(&s.BanFor, DefaultBanFor)
	orInt(&s.RateLimit, DefaultRateLimit)
	s.TLSCert, s.TLSKey = abs(base, s.TLSCert), abs(base, s.TLSKey)

	for i := range c.Lines {
		l := &c.Lines[i]
		if l.MaxCalls == 0 {
			l.MaxCalls = DefaultLineMaxCalls
			if l.Kind == "sip_trunk" || l.Kind == "sip_account" {
				l.MaxCalls = DefaultTrunkMaxCalls
			}
		}
		if l.FXO != nil {
			orInt(&l.FXO.RingsBeforeAnswer, DefaultRingsBeforeAnswer)
			orString(&l.FXO.Country, c.Site.Region)
			orString(&l.FXO.CallerID, "bell202")
		}
	}
	for i := range c.Pools {
		orDuration(&c.Pools[i].VisitLength, DefaultVisitLength)
	}
	for i := range c.Queues {
		q := &c.Queues[i]
		orString(&q.Strategy, DefaultStrategy)
		orDuration(&q.RingTimeout, DefaultRingTimeout)
		orDuration(&q.WrapUp, DefaultWrapUp)
		orDuration(&q.MaxWait, DefaultMaxWait)
		orInt(&q.MaxCallers, DefaultMaxCallers)
		orString(&q.ClosedAction, "reject")
		for j := range q.Members {
			orInt(&q.Members[j].Weight, 1)
		}
		q.HoldMusic, q.Greeting, q.Announcement = abs(base, q.HoldMusic), abs(base, q.Greeting), abs(base, q.Announcement)
		q.ClosedMessage = abs(base, q.ClosedMessage)
	}
	r := &c.Recording
	orInt(&r.RetentionDays, DefaultRecordingRetentionDays)
	orInt(&r.QuotaMB, DefaultRecordingQuotaMB)
	orInt(&r.LowDiskMB, DefaultLowDiskMB)
	r.Announcement = abs(base, r.Announcement)

	m := &c.Metrics
	orInt(&m.ServiceLevelSeconds, DefaultServiceLevelSeconds)
	if m.ServiceLevelTarget == 0 {
		m.ServiceLevelTarget = DefaultServiceLevelTarget
	}
	if m.BlockedTarget == 0 {
		m.BlockedTarget = DefaultBlockedTarget
	}
	orDuration(&m.ShortAbandon, DefaultShortAbandon)
	orInt(&m.RepeatLookbackDays, DefaultRepeatLookbackDays)
	orDuration(&m.LeadRule.MinTalk, DefaultLeadMinTalk)
	orDuration(&m.BillingIncrement, DefaultBillingIncrement)
	orInt(&m.CacheMB, DefaultMetricsCacheMB)
	if m.LeadRule.Enabled == nil {
		t := true
		m.LeadRule.Enabled = &t
	}
	if m.LeadRule.FirstTimeOnly == nil {
		t := true
		m.LeadRule.FirstTimeOnly = &t
	}
	orInt(&c.Retention.RecordDays, DefaultRecordDays)

	u := &c.Uplink
	orString(&u.ClientID, "ringside-"+c.Site.Device)
	orString(&u.TopicPrefix, DefaultTopicPrefix)
	orString(&u.CallerNumber, DefaultCallerNumber)
	orInt(&u.RatePerSec, DefaultUplinkRate)
	orInt(&u.InFlight, DefaultInFlight)
	orDuration(&u.Keepalive, DefaultKeepalive)
	u.CAFile, u.CertFile, u.KeyFile = abs(base, u.CAFile), abs(base, u.CertFile), abs(base, u.KeyFile)

	orString(&c.Web.Listen, DefaultWebListen)
	orString(&c.Web.AdminUser, DefaultAdminUser)
	orDuration(&c.Button.LongPress, DefaultLongPress)
}
