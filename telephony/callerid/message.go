package callerid

import (
	"fmt"
	"time"
)

// Standard is the way a network sends caller ID on an analog line.
type Standard uint8

// The caller-ID standards.
const (
	// Bell202 is Telcordia GR-30-CORE: Bell 202 FSK between the first and second ring, SDMF or
	// MDMF messages (North America, and many other countries).
	Bell202 Standard = iota + 1
	// V23 is ETSI EN 300 659-1/-3: V.23 FSK after the first ring or after a line-polarity
	// reversal before it, with MDMF-like parameter messages (UK, France, Germany, Italy, ...).
	V23
	// DTMF is DTMF CLIP: the number as DTMF digits before the first ring (Denmark, Finland,
	// Iceland, the Netherlands, Sweden, and parts of Brazil, India and others).
	DTMF
)

func (s Standard) String() string {
	switch s {
	case Bell202:
		return "bell202"
	case V23:
		return "v23"
	case DTMF:
		return "dtmf"
	}
	return fmt.Sprintf("Standard(%d)", uint8(s))
}

// ParseStandard returns the standard named by s ("bell202", "v23" or "dtmf"), as String writes it.
func ParseStandard(s string) (Standard, error) {
	for _, st := range []Standard{Bell202, V23, DTMF} {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("caller ID standard %q: %w", s, ErrStandard)
}

// Message types (GR-30-CORE table 5-1; EN 300 659-3 clause 5.2).
const (
	TypeSDMF       = 0x04 // GR-30 single data message format: call set-up
	TypeSDMFMWI    = 0x06 // GR-30 single data message format: message waiting
	TypeCallSetup  = 0x80 // GR-30 MDMF call set-up; EN 300 659-3 call set-up
	TypeMWI        = 0x82 // message waiting indication
	TypeAdviceChrg = 0x86 // EN 300 659-3 advice of charge
	TypeSMS        = 0x89 // EN 300 659-3 short message service
)

// Parameter types inside an MDMF / ETSI message (GR-30-CORE table 5-2; EN 300 659-3 table 3).
const (
	ParamDateTime      = 0x01 // MMDDHHMM, 8 ASCII digits
	ParamNumber        = 0x02 // calling line directory number
	ParamCalled        = 0x03 // ETSI: called line identity; GR-30: dialable directory number
	ParamNumberAbsent  = 0x04 // reason for absence of number: 'O' unavailable, 'P' private
	ParamName          = 0x07 // calling party name
	ParamNameAbsent    = 0x08 // reason for absence of name: 'O' or 'P'
	ReasonUnavailable  = 'O'
	ReasonPrivate      = 'P'
	maxFieldLen        = 64 // longer numbers and names are cut (both specifications allow at most 20 to 50)
	dateTimeDigits     = 8
	sdmfMinBody        = dateTimeDigits + 1
	frameOverheadBytes = 3 // type, length, checksum
)

// DateTime is the month, day, hour and minute a caller-ID message carries (no year, no zone:
// the exchange's local time).
type DateTime struct {
	Month, Day, Hour, Minute int
}

// IsZero reports whether no date was sent.
func (d DateTime) IsZero() bool { return d == DateTime{} }

// In returns the date as a time in now's location, in the year that puts it closest to now
// (a message sent just after New Year read just before it, and the reverse).
func (d DateTime) In(now time.Time) time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	best := time.Time{}
	for _, y := range []int{now.Year() - 1, now.Year(), now.Year() + 1} {
		t := time.Date(y, time.Month(d.Month), d.Day, d.Hour, d.Minute, 0, 0, now.Location())
		if best.IsZero() || absDur(t.Sub(now)) < absDur(best.Sub(now)) {
			best = t
		}
	}
	return best
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// String writes the date as MM-DD hh:mm.
func (d DateTime) String() string {
	return fmt.Sprintf("%02d-%02d %02d:%02d", d.Month, d.Day, d.Hour, d.Minute)
}

// Result is one decoded caller identity. Number and Name hold printable ASCII only.
type Result struct {
	Standard    Standard
	MessageType byte // the FSK message type; 0 for DTMF
	Number      string
	Name        string
	Called      string // ETSI called line identity, when sent
	Time        DateTime
	// Withheld: the caller withheld the number ('P', private; DTMF "B10" / "D1#").
	Withheld bool
	// Unavailable: the network could not deliver the number ('O', out of area; DTMF "B00",
	// "D2#", "D3#").
	Unavailable     bool
	NameWithheld    bool
	NameUnavailable bool
}

// parseDateTime reads MMDDHHMM; it returns the zero DateTime for anything else, since some
// exchanges send placeholders and the number is still good.
func parseDateTime(b []byte) DateTime {
	if len(b) != dateTimeDigits {
		return DateTime{}
	}
	var v [4]int
	for i := range 4 {
		hi, lo := b[2*i], b[2*i+1]
		if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
			return DateTime{}
		}
		v[i] = int(hi-'0')*10 + int(lo-'0')
	}
	d := DateTime{Month: v[0], Day: v[1], Hour: v[2], Minute: v[3]}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 || d.Hour > 23 || d.Minute > 59 {
		return DateTime{}
	}
	return d
}

// printable keeps the printable ASCII bytes of b, at most maxFieldLen of them: caller data
// reaches logs, the database and a web page.
func printable(b []byte) string {
	out := make([]byte, 0, min(len(b), maxFieldLen))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && len(out) < maxFieldLen {
			out = append(out, c)
		}
	}
	return string(out)
}

// absence applies a reason-for-absence code to the withheld/unavailable pair.
func absence(v []byte, withheld, unavailable *bool) {
	if len(v) == 0 {
		return
	}
	switch v[0] {
	case ReasonPrivate:
		*withheld = true
	case ReasonUnavailable:
		*unavailable = true
	}
}

// ParseFrame decodes one FSK caller-ID frame: message type, message length, the message, and
// the checksum (the two's complement of the modulo-256 sum of the other bytes). std (Bell202 or
// V23) decides what parameter 0x03 means. It returns ErrChecksum, ErrMalformed, or
// ErrNotCallerID for a valid message of another kind.
func ParseFrame(std Standard, b []byte) (Result, error) {
	if len(b) < frameOverheadBytes {
		return Result{}, fmt.Errorf("frame of %d bytes: %w", len(b), ErrMalformed)
	}
	n := int(b[1])
	if len(b) != n+frameOverheadBytes {
		return Result{}, fmt.Errorf("frame of %d bytes, length byte says %d: %w", len(b), n+frameOverheadBytes, ErrMalformed)
	}
	var sum byte
	for _, c := range b {
		sum += c
	}
	if sum != 0 {
		return Result{}, fmt.Errorf("type 0x%02x: %w", b[0], ErrChecksum)
	}
	r := Result{Standard: std, MessageType: b[0]}
	body := b[2 : 2+n]
	switch b[0] {
	case TypeSDMF:
		// GR-30 section 5.3.1: 8 digits of date and time, then the number, or 'O' / 'P'.
		if len(body) < sdmfMinBody {
			return Result{}, fmt.Errorf("SDMF body of %d bytes: %w", len(body), ErrMalformed)
		}
		r.Time = parseDateTime(body[:dateTimeDigits])
		num := body[dateTimeDigits:]
		if len(num) == 1 && (num[0] == ReasonPrivate || num[0] == ReasonUnavailable) {
			absence(num, &r.Withheld, &r.Unavailable)
		} else {
			r.Number = printable(num)
		}
		return r, nil
	case TypeCallSetup:
		dialable := ""
		for len(body) > 0 {
			if len(body) < 2 || int(body[1]) > len(body)-2 {
				return Result{}, fmt.Errorf("parameter 0x%02x overruns the message: %w", body[0], ErrMalformed)
			}
			typ, v := body[0], body[2:2+int(body[1])]
			body = body[2+int(body[1]):]
			switch typ {
			case ParamDateTime:
				r.Time = parseDateTime(v)
			case ParamNumber:
				r.Number = printable(v)
			case ParamCalled:
				if std == Bell202 {
					dialable = printable(v)
				} else {
					r.Called = printable(v)
				}
			case ParamNumberAbsent:
				absence(v, &r.Withheld, &r.Unavailable)
			case ParamName:
				r.Name = printable(v)
			case ParamNameAbsent:
				absence(v, &r.NameWithheld, &r.NameUnavailable)
			}
		}
		if r.Number == "" && dialable != "" {
			r.Number = dialable
		}
		return r, nil
	case TypeSDMFMWI, TypeMWI, TypeAdviceChrg, TypeSMS:
		return Result{}, fmt.Errorf("type 0x%02x: %w", b[0], ErrNotCallerID)
	}
	return Result{}, fmt.Errorf("unknown message type 0x%02x: %w", b[0], ErrMalformed)
}

// knownType reports whether b can start a frame.
func knownType(b byte) bool {
	switch b {
	case TypeSDMF, TypeSDMFMWI, TypeCallSetup, TypeMWI, TypeAdviceChrg, TypeSMS:
		return true
	}
	return false
}

func appendChecksum(b []byte) []byte {
	var sum byte
	for _, c := range b {
		sum += c
	}
	return append(b, -sum)
}

func (d DateTime) digits() []byte {
	return fmt.Appendf(nil, "%02d%02d%02d%02d", d.Month, d.Day, d.Hour, d.Minute)
}

// EncodeSDMF builds a GR-30 single data message frame for r: date and time (zeros when r has
// none), then the number, or 'P' / 'O' when it is withheld or unavailable.
func EncodeSDMF(r Result) ([]byte, error) {
	body := r.Time.digits()
	switch {
	case r.Withheld:
		body = append(body, ReasonPrivate)
	case r.Unavailable || r.Number == "":
		body = append(body, ReasonUnavailable)
	default:
		body = append(body, r.Number...)
	}
	if len(body) > 255 {
		return nil, fmt.Errorf("SDMF body of %d bytes: %w", len(body), ErrMalformed)
	}
	return appendChecksum(append([]byte{TypeSDMF, byte(len(body))}, body...)), nil
}

// EncodeMDMF builds a call set-up frame (GR-30 MDMF, EN 300 659-3 type 0x80) for r, with the
// parameters in the order both specifications show: date and time, number or its absence,
// called number (ETSI), name or its absence.
func EncodeMDMF(r Result) ([]byte, error) {
	var body []byte
	var tooLong error
	param := func(t byte, v []byte) {
		if len(v) > 255 {
			tooLong = fmt.Errorf("parameter 0x%02x of %d bytes: %w", t, len(v), ErrMalformed)
			return
		}
		body = append(body, t, byte(len(v)))
		body = append(body, v...)
	}
	if !r.Time.IsZero() {
		param(ParamDateTime, r.Time.digits())
	}
	switch {
	case r.Withheld:
		param(ParamNumberAbsent, []byte{ReasonPrivate})
	case r.Unavailable:
		param(ParamNumberAbsent, []byte{ReasonUnavailable})
	case r.Number != "":
		param(ParamNumber, []byte(r.Number))
	}
	if r.Called != "" {
		param(ParamCalled, []byte(r.Called))
	}
	switch {
	case r.NameWithheld:
		param(ParamNameAbsent, []byte{ReasonPrivate})
	case r.NameUnavailable:
		param(ParamNameAbsent, []byte{ReasonUnavailable})
	case r.Name != "":
		param(ParamName, []byte(r.Name))
	}
	if tooLong != nil {
		return nil, tooLong
	}
	if len(body) > 255 {
		return nil, fmt.Errorf("MDMF body of %d bytes: %w", len(body), ErrMalformed)
	}
	return appendChecksum(append([]byte{TypeCallSetup, byte(len(body))}, body...)), nil
}
