package fxo

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
	"github.com/ringside/ringside/telephony/dsp"
	"github.com/ringside/ringside/telephony/g711"
)

// Defaults, each with the reason for its value.
const (
	// DefaultRingsBeforeAnswer: two rings, because ring-first caller ID (GR-30, most of Europe)
	// arrives between the first and the second ring.
	DefaultRingsBeforeAnswer = 2
	// DefaultSilenceTimeout: a caller who hung up on a line with no disconnect supervision leaves
	// silence; a minute of it is longer than any natural pause, even on hold (the appliance plays
	// hold music toward the caller, not from the caller, so this is the caller's own silence).
	DefaultSilenceTimeout = 60 * time.Second
	// DefaultDisconnectCycles: busy or reorder must be seen for this many cadence cycles before
	// the line hangs up; UK congestion's first cycle looks like busy (see dsp's doc).
	DefaultDisconnectCycles = 2
	// DefaultDialTimeout bounds the INVITE to the appliance; it answers at once when it queues
	// the call, so 10 s only runs out when it is down.
	DefaultDialTimeout = 10 * time.Second
	// DefaultNoAudioTimeout: a line interface that delivers no audio frame for this long has
	// failed (a sound device unplugged).
	DefaultNoAudioTimeout = 2 * time.Second
)

// FrameSamples is one 20 ms frame of line audio at 8 kHz.
const FrameSamples = dsp.SampleRate / 50

// Config describes one FXO port.
type Config struct {
	// Port is the port's id: the line account's username and the call record's line.
	Port string
	// TrackingNumber is the number this line stands for; it becomes the Request-URI user.
	TrackingNumber string
	// CallerID names the caller-ID standard: "bell202", "v23" or "dtmf" (callerid.ParseStandard).
	CallerID string
	// Country is the ISO 3166-1 code whose call-progress tones the line hears (dsp.LookupCountry).
	Country string
	// RingsBeforeAnswer is how many rings the line lets pass before going off hook.
	RingsBeforeAnswer int
	// SIPTarget is the appliance's own SIP listener (a loopback address).
	SIPTarget netip.AddrPort
	// BindIP is the local address of the line's SIP and RTP sockets; the zero value takes
	// SIPTarget's address.
	BindIP netip.Addr
	// Username and Password are the port's internal line account.
	Username, Password string
	// SilenceTimeout hangs up after this much silence from the caller; negative disables it.
	SilenceTimeout time.Duration
	// Codec is the G.711 law offered to the appliance (PCMU by default).
	Codec g711.Codec
	// Ring tunes ring counting; zero fields take dsp's defaults.
	Ring dsp.RingConfig
}

// validated is a Config with defaults applied and its names parsed.
type validated struct {
	Config
	std     callerid.Standard
	country dsp.Country
}

func (c Config) validate() (validated, error) {
	v := validated{Config: c}
	if c.Port == "" {
		return v, fmt.Errorf("%w: port: empty id", ErrConfig)
	}
	if c.TrackingNumber == "" {
		return v, fmt.Errorf("%w: port %s: tracking_number: empty", ErrConfig, c.Port)
	}
	var err error
	if v.std, err = callerid.ParseStandard(c.CallerID); err != nil {
		return v, fmt.Errorf("%w: port %s: caller_id %q: %w", ErrConfig, c.Port, c.CallerID, err)
	}
	if v.country, err = dsp.LookupCountry(c.Country); err != nil {
		return v, fmt.Errorf("%w: port %s: country %q: %w", ErrConfig, c.Port, c.Country, err)
	}
	if v.RingsBeforeAnswer == 0 {
		v.RingsBeforeAnswer = DefaultRingsBeforeAnswer
	}
	if v.RingsBeforeAnswer < 1 || v.RingsBeforeAnswer > 20 {
		return v, fmt.Errorf("%w: port %s: rings_before_answer %d: want 1 to 20", ErrConfig, c.Port, v.RingsBeforeAnswer)
	}
	if v.std == callerid.Bell202 && v.RingsBeforeAnswer < 2 {
		// GR-30 sends caller ID after the first ring: answering on it would cut the caller ID.
		return v, fmt.Errorf("%w: port %s: rings_before_answer 1 loses bell202 caller ID (sent after the first ring): use 2 or more", ErrConfig, c.Port)
	}
	if !c.SIPTarget.IsValid() {
		return v, fmt.Errorf("%w: port %s: sip_target: not set", ErrConfig, c.Port)
	}
	if !v.BindIP.IsValid() {
		v.BindIP = c.SIPTarget.Addr()
	}
	if c.Username == "" {
		v.Username = c.Port
	}
	if v.SilenceTimeout == 0 {
		v.SilenceTimeout = DefaultSilenceTimeout
	}
	if v.Codec != g711.PCMU && v.Codec != g711.PCMA {
		return v, fmt.Errorf("%w: port %s: codec: want PCMU or PCMA", ErrConfig, c.Port)
	}
	return v, nil
}
