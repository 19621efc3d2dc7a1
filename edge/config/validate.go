package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/phone"
)

type validator struct {
	file     string
	idx      keyIndex
	base     string
	problems Problems
}

func (v *validator) add(key, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Line: v.idx.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) required(key, val string) bool {
	if strings.TrimSpace(val) == "" {
		v.add(key, "is required")
		return false
	}
	return true
}

func (v *validator) oneOf(key, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.add(key, "is %q; want one of %s", val, strings.Join(allowed, ", "))
}

func (v *validator) fileExists(key, path string) {
	if path == "" {
		return
	}
	if st, err := os.Stat(path); err != nil {
		v.add(key, "cannot read %s: %v", path, errors.Unwrap(err))
	} else if st.IsDir() {
		v.add(key, "%s is a folder, not a file", path)
	}
}

// unique reports a duplicate name under key.
func (v *validator) unique(seen map[string]bool, key, name string) {
	if name == "" {
		return
	}
	if seen[name] {
		v.add(key, "%q is used twice", name)
	}
	seen[name] = true
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func (v *validator) validate(c *Config) {
	v.required("site.name", c.Site.Name)
	if loc, err := time.LoadLocation(c.Site.TimeZone); err != nil {
		v.add("site.time_zone", "unknown time zone %q (want an IANA name such as Europe/London)", c.Site.TimeZone)
	} else {
		c.Site.Location = loc
	}
	if !phone.ValidRegion(c.Site.Region) {
		v.add("site.region", "unknown region %q (want an ISO 3166 code such as US or GB)", c.Site.Region)
	}
	v.validateSIP(c)

	queues := map[string]bool{}
	for i, q := range c.Queues {
		v.unique(queues, fmt.Sprintf("queues[%d].name", i), q.Name)
	}
	agents := map[string]bool{}
	users := map[string]bool{}
	for i, a := range c.Agents {
		k := fmt.Sprintf("agents[%d]", i)
		if v.required(k+".id", a.ID) {
			v.unique(agents, k+".id", a.ID)
		}
		if v.required(k+".username", a.Username) {
			v.unique(users, k+".username", a.Username)
		}
		v.sipPassword(k, &c.Agents[i].Password, a.PasswordFile)
	}
	pools := map[string]bool{}
	for i, p := range c.Pools {
		k := fmt.Sprintf("pools[%d]", i)
		if v.required(k+".name", p.Name) {
			v.unique(pools, k+".name", p.Name)
		}
		v.required(k+".source", p.Source)
	}
	numbers := map[string]bool{}
	for i := range c.TrackingNumbers {
		t := &c.TrackingNumbers[i]
		k := fmt.Sprintf("tracking_numbers[%d]", i)
		if v.required(k+".number", t.Number) {
			if n, err := phone.NormalizeValid(t.Number, c.Site.Region); err != nil {
				v.add(k+".number", "%v", err)
			} else {
				t.Number = n
				v.unique(numbers, k+".number", n)
			}
		}
		v.required(k+".source", t.Source)
		if t.Queue != "" && !queues[t.Queue] {
			v.add(k+".queue", "no queue named %q", t.Queue)
		}
		if t.Pool != "" && !pools[t.Pool] {
			v.add(k+".pool", "no pool named %q", t.Pool)
		}
	}
	for i, m := range c.MarketingCosts {
		v.required(fmt.Sprintf("marketing_costs[%d].source", i), m.Source)
	}
	v.validateLines(c, users)
	for name, h := range c.Hours {
		v.validateHours(name, &h)
		c.Hours[name] = h
	}
	for i, q := range c.Queues {
		k := fmt.Sprintf("queues[%d]", i)
		v.required(k+".name", q.Name)
		v.oneOf(k+".strategy", q.Strategy, "ring_all", "round_robin", "longest_idle", "weighted")
		v.oneOf(k+".closed_action", q.ClosedAction, "reject", "announce")
		if q.ClosedAction == "announce" && q.ClosedMessage == "" {
			v.add(k+".closed_message", "closed_action announce needs a closed_message WAV")
		}
		for j, m := range q.Members {
			mk := fmt.Sprintf("%s.members[%d]", k, j)
			if v.required(mk+".agent", m.Agent) && !agents[m.Agent] {
				v.add(mk+".agent", "no agent with id %q", m.Agent)
			}
			if m.Weight < 0 {
				v.add(mk+".weight", "is negative")
			}
		}
		if q.Overflow.Queue != "" && q.Overflow.URI != "" {
			v.add(k+".overflow", "set queue or uri, not both")
		}
		if q.Overflow.Queue != "" && (q.Overflow.Queue == q.Name || !queues[q.Overflow.Queue]) {
			v.add(k+".overflow.queue", "must name another queue, got %q", q.Overflow.Queue)
		}
		if q.Overflow.URI != "" && !strings.HasPrefix(q.Overflow.URI, "sip:") && !strings.HasPrefix(q.Overflow.URI, "sips:") {
			v.add(k+".overflow.uri", "want a sip: or sips: URI, got %q", q.Overflow.URI)
		}
		if q.Hours != "" {
			if _, ok := c.Hours[q.Hours]; !ok {
				v.add(k+".hours", "no business_hours named %q", q.Hours)
			}
		}
		if q.MaxCallers < 0 {
			v.add(k+".max_callers", "is negative")
		}
		v.fileExists(k+".hold_music", q.HoldMusic)
		v.fileExists(k+".greeting", q.Greeting)
		v.fileExists(k+".announcement", q.Announcement)
		v.fileExists(k+".closed_message", q.ClosedMessage)
	}
	v.fileExists("recording.announcement", c.Recording.Announcement)
	if c.Recording.RetentionDays < 0 {
		v.add("recording.retention_days", "is negative")
	}
	if c.Recording.QuotaMB < 0 {
		v.add("recording.quota_mb", "is negative")
	}
	m := c.Metrics
	if m.ServiceLevelTarget < 0 || m.ServiceLevelTarget > 100 {
		v.add("metrics.service_level_target", "want a percentage from 0 to 100, got %v", m.ServiceLevelTarget)
	}
	if m.BlockedTarget < 0 || m.BlockedTarget > 100 {
		v.add("metrics.blocked_target", "want a percentage from 0 to 100, got %v", m.BlockedTarget)
	}
	if m.ServiceLevelSeconds < 0 {
		v.add("metrics.service_level_seconds", "is negative")
	}
	if m.RepeatLookbackDays < 0 {
		v.add("metrics.repeat_lookback_days", "is negative")
	}
	if m.CacheMB < 0 {
		v.add("metrics.cache_mb", "is negative")
	}
	if c.Retention.RecordDays < 0 {
		v.add("retention.record_days", "is negative")
	}
	v.validateUplink(c)
	if _, _, err := net.SplitHostPort(c.Web.Listen); err != nil {
		v.add("web.listen", "want host:port, got %q", c.Web.Listen)
	}
	if u, err := url.Parse(c.Web.PublicURL); c.Web.PublicURL != "" && (err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		v.add("web.public_url", "want an absolute http or https URL such as http://ringside.local:8080/, got %q", c.Web.PublicURL)
	}
	pins := map[string]bool{}
	for _, l := range []struct {
		key string
		pin string
	}{{"leds.ready", c.LEDs.Ready.Pin}, {"leds.calls", c.LEDs.Calls.Pin}, {"leds.alarm", c.LEDs.Alarm.Pin}, {"leds.uplink", c.LEDs.Uplink.Pin}, {"button", c.Button.Pin}} {
		if l.pin == "" {
			continue
		}
		if pins[l.pin] {
			v.add(l.key+".pin", "pin %s is used twice", l.pin)
		}
		pins[l.pin] = true
	}
}

func (v *validator) validateSIP(c *Config) {
	s := c.SIP
	for i, l := range s.Listen {
		k := fmt.Sprintf("sip.listen[%d]", i)
		proto, addr, ok := strings.Cut(l, ":")
		if !ok {
			v.add(k, "want proto:host:port such as udp:0.0.0.0:5060, got %q", l)
			continue
		}
		v.oneOf(k, proto, "udp", "tcp", "tls")
		if _, port, err := net.SplitHostPort(addr); err != nil {
			v.add(k, "want proto:host:port, got %q", l)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			v.add(k, "bad port %q", port)
		}
		if proto == "tls" && (s.TLSCert == "" || s.TLSKey == "") {
			v.add(k, "a tls listener needs sip.tls_cert and sip.tls_key")
		}
	}
	v.fileExists("sip.tls_cert", s.TLSCert)
	v.fileExists("sip.tls_key", s.TLSKey)
	if s.RTPPortMin < 1024 || s.RTPPortMax > 65535 || s.RTPPortMin >= s.RTPPortMax {
		v.add("sip.rtp_port_min", "RTP ports %d-%d: want 1024 <= min < max <= 65535", s.RTPPortMin, s.RTPPortMax)
	}
	if s.MaxCalls < 0 {
		v.add("sip.max_calls", "is negative")
	}
	if s.TrustedRateLimit < 0 {
		v.add("sip.trusted_rate_limit", "is negative")
	}
	if s.TCPMaxConnsPerAddr < 0 {
		v.add("sip.tcp_max_conns_per_addr", "is negative")
	}
	if s.BusyCode < 400 || s.BusyCode > 699 {
		v.add("sip.busy_code", "want a SIP failure status (400-699), got %d", s.BusyCode)
	}
	if s.PublicAddr != "" {
		if _, err := netip.ParseAddr(s.PublicAddr); err != nil {
			v.add("sip.public_addr", "want an IP address, got %q", s.PublicAddr)
		}
	}
}

func (v *validator) validateLines(c *Config, agentUsers map[string]bool) {
	ids := map[string]bool{}
	users := map[string]bool{}
	for i := range c.Lines {
		l := &c.Lines[i]
		k := fmt.Sprintf("lines[%d]", i)
		if v.required(k+".id", l.ID) {
			v.unique(ids, k+".id", l.ID)
		}
		v.oneOf(k+".kind", l.Kind, "sip_account", "sip_trunk", "fxo")
		switch l.Kind {
		case "sip_account":
			if v.required(k+".username", l.Username) {
				v.unique(users, k+".username", l.Username)
				if agentUsers[l.Username] {
					v.add(k+".username", "%q is also an agent's username", l.Username)
				}
			}
			v.sipPassword(k, &l.Password, l.PasswordFile)
		case "sip_trunk":
			if len(l.Addresses) == 0 {
				v.add(k+".addresses", "a trunk needs the addresses it is admitted from")
			}
			for j, a := range l.Addresses {
				if _, err := netip.ParsePrefix(a); err != nil {
					if _, err := netip.ParseAddr(a); err != nil {
						v.add(fmt.Sprintf("%s.addresses[%d]", k, j), "want an IP address or CIDR, got %q", a)
					}
				}
			}
		case "fxo":
			if l.FXO == nil {
				v.add(k+".fxo", "an fxo line needs its fxo settings")
				break
			}
			v.oneOf(k+".fxo.caller_id", l.FXO.CallerID, "bell202", "v23", "dtmf", "none")
			if l.FXO.RingsBeforeAnswer < 1 || l.FXO.RingsBeforeAnswer > 10 {
				v.add(k+".fxo.rings_before_answer", "want 1 to 10, got %d", l.FXO.RingsBeforeAnswer)
			}
			if !l.FXO.Simulated && (l.FXO.RingPin == "" || l.FXO.HookPin == "") {
				v.add(k+".fxo", "a real fxo port needs ring_pin and hook_pin (or simulated: true)")
			}
		}
		if l.MaxCalls < 0 {
			v.add(k+".max_calls", "is negative")
		}
		if l.TrackingNumber != "" {
			n, err := phone.NormalizeValid(l.TrackingNumber, c.Site.Region)
			if err != nil {
				v.add(k+".tracking_number", "%v", err)
				continue
			}
			l.TrackingNumber = n
			found := false
			for _, t := range c.TrackingNumbers {
				found = found || t.Number == n
			}
			if !found {
				v.add(k+".tracking_number", "%s is not in tracking_numbers", n)
			}
		} else if l.Kind == "fxo" {
			v.add(k+".tracking_number", "an analog line carries no dialed number: name the tracking number it stands for")
		}
	}
}

func (v *validator) validateHours(name string, h *Hours) {
	k := "business_hours." + name
	h.Spans = map[time.Weekday][]Span{}
	for day, spec := range h.Week {
		wd, ok := weekdays[strings.ToLower(day)]
		dk := k + ".week." + day
		if !ok {
			v.add(dk, "unknown day %q; want mon, tue, wed, thu, fri, sat or sun", day)
			continue
		}
		if strings.TrimSpace(spec) == "" || strings.EqualFold(strings.TrimSpace(spec), "closed") {
			continue
		}
		for _, part := range strings.Split(spec, ",") {
			sp, err := parseSpan(strings.TrimSpace(part))
			if err != nil {
				v.add(dk, "%v", err)
				continue
			}
			h.Spans[wd] = append(h.Spans[wd], sp)
		}
	}
	for i, d := range h.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			v.add(fmt.Sprintf("%s.holidays[%d]", k, i), "want a date YYYY-MM-DD, got %q", d)
		}
	}
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * 60, nil
		}
		return 0, fmt.Errorf("want a time HH:MM, got %q", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

func parseSpan(s string) (Span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Span{}, fmt.Errorf("want HH:MM-HH:MM, got %q", s)
	}
	f, err := parseClock(strings.TrimSpace(from))
	if err != nil {
		return Span{}, err
	}
	t, err := parseClock(strings.TrimSpace(to))
	if err != nil {
		return Span{}, err
	}
	if f >= t {
		return Span{}, fmt.Errorf("span %q ends before it starts", s)
	}
	return Span{From: f, To: t}, nil
}

func (v *validator) validateUplink(c *Config) {
	u := c.Uplink
	v.oneOf("uplink.caller_number", u.CallerNumber, "full", "masked", "hashed", "omit")
	if u.CallerNumber == "hashed" && u.HashSecret == "" {
		v.add("uplink.hash_secret", "caller_number: hashed needs a hash_secret")
	}
	if !u.Enabled {
		return
	}
	if v.required("uplink.broker", u.Broker) {
		b, err := url.Parse(u.Broker)
		if err != nil || b.Host == "" {
			v.add("uplink.broker", "want a URL such as tcp://broker:1883, got %q", u.Broker)
		} else {
			v.oneOf("uplink.broker", b.Scheme, "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss")
		}
	}
	if (u.CertFile == "") != (u.KeyFile == "") {
		v.add("uplink.cert_file", "cert_file and key_file go together")
	}
	v.fileExists("uplink.ca_file", u.CAFile)
	v.fileExists("uplink.cert_file", u.CertFile)
	v.fileExists("uplink.key_file", u.KeyFile)
	if u.RatePerSec < 0 || u.InFlight < 0 {
		v.add("uplink.rate_per_sec", "rate_per_sec and in_flight must not be negative")
	}
}

// Open reports whether the schedule is open at t (in the site's zone). An absent schedule is always open.
func (h *Hours) Open(t time.Time) bool {
	if h == nil {
		return true
	}
	day := t.Format(time.DateOnly)
	for _, d := range h.Holidays {
		if d == day {
			return false
		}
	}
	m := t.Hour()*60 + t.Minute()
	for _, sp := range h.Spans[t.Weekday()] {
		if m >= sp.From && m < sp.To {
			return true
		}
	}
	return false
}
