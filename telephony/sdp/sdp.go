package sdp

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ringside/ringside/telephony/g711"

	psdp "github.com/pion/sdp/v3"
)

// MaxSize bounds the SDP bodies we parse; a G.711 offer is a few hundred bytes.
const MaxSize = 8 << 10

// Direction is the media direction attribute of RFC 3264 section 5.1.
type Direction string

// The four directions; an absent attribute means SendRecv.
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// Reverse gives the direction an answerer uses in reply (RFC 3264 section 6.1).
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// Held reports whether a party using d stops receiving our audio (it put the call on hold).
func (d Direction) Held() bool { return d == SendOnly || d == Inactive }

// Media is the audio stream of a description.
type Media struct {
	// Addr is where the peer receives RTP (zero address means "on hold" in RFC 2543 style c=0.0.0.0).
	Addr netip.AddrPort
	// Payloads are the offered payload types in preference order.
	Payloads []uint8
	// TelephoneEvent is the RFC 4733 payload type for 8 kHz, or -1.
	TelephoneEvent int
	// Direction is the media direction (session- or media-level attribute).
	Direction Direction
	// Ptime is the packetisation time in ms, 0 when not given.
	Ptime int
	// SessionID and Version are the o= values, for the peer's re-offers.
	SessionID, Version uint64
}

// Codec returns the first offered G.711 law, or ErrNoCodec.
func (m Media) Codec() (g711.Codec, error) {
	for _, pt := range m.Payloads {
		switch pt {
		case uint8(g711.PCMU):
			return g711.PCMU, nil
		case uint8(g711.PCMA):
			return g711.PCMA, nil
		}
	}
	return 0, ErrNoCodec
}

// sessionOrder is the order of session-level lines in RFC 4566 section 5.
const sessionOrder = "vosiuepcbtrzka"

// normalise puts session-level lines in RFC 4566 order (stable), strips blank lines and ends every
// line with CRLF, so that pion's strict lexer accepts descriptions with, for example, c= after t=.
func normalise(b []byte) []byte {
	lines := strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' || r == '\r' })
	firstM := len(lines)
	for i, l := range lines {
		if strings.HasPrefix(l, "m=") {
			firstM = i
			break
		}
	}
	sess := lines[:firstM]
	rank := func(l string) int {
		if len(l) < 2 || l[1] != '=' {
			return len(sessionOrder)
		}
		i := strings.IndexByte(sessionOrder, l[0])
		if i < 0 {
			return len(sessionOrder)
		}
		// r= belongs to the t= before it, z= after; keep t/r together by giving r the rank of t.
		if l[0] == 'r' {
			return strings.IndexByte(sessionOrder, 't')
		}
		return i
	}
	slices.SortStableFunc(sess, func(a, b string) int { return rank(a) - rank(b) })
	var out bytes.Buffer
	out.Grow(len(b) + 2*len(lines))
	for _, l := range lines {
		out.WriteString(strings.TrimSpace(l))
		out.WriteString("\r\n")
	}
	return out.Bytes()
}

// Parse extracts the first audio stream of an SDP body.
func Parse(body []byte) (Media, error) {
	if len(body) > MaxSize {
		return Media{}, ErrTooLarge
	}
	var sd psdp.SessionDescription
	if err := sd.UnmarshalString(string(normalise(body))); err != nil {
		return Media{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	m := Media{TelephoneEvent: -1, Direction: SendRecv, SessionID: sd.Origin.SessionID, Version: sd.Origin.SessionVersion}
	for _, a := range sd.Attributes {
		if d, ok := direction(a.Key); ok {
			m.Direction = d
		}
	}
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		conn := sd.ConnectionInformation
		if md.ConnectionInformation != nil {
			conn = md.ConnectionInformation
		}
		if conn == nil || conn.Address == nil {
			return Media{}, fmt.Errorf("%w: no c= line", ErrNoAudio)
		}
		ip, err := netip.ParseAddr(conn.Address.Address)
		if err != nil {
			return Media{}, fmt.Errorf("%w: address %q", ErrNoAudio, conn.Address.Address)
		}
		port := md.MediaName.Port.Value
		if port <= 0 || port > 65535 {
			return Media{}, fmt.Errorf("%w: port %d", ErrNoAudio, port)
		}
		m.Addr = netip.AddrPortFrom(ip.Unmap(), uint16(port))
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 7)
			if err != nil {
				continue
			}
			m.Payloads = append(m.Payloads, uint8(pt))
		}
		for _, a := range md.Attributes {
			if d, ok := direction(a.Key); ok {
				m.Direction = d
				continue
			}
			switch a.Key {
			case "ptime":
				m.Ptime, _ = strconv.Atoi(strings.TrimSpace(a.Value))
			case "rtpmap":
				// a=rtpmap:101 telephone-event/8000
				pt, enc, ok := strings.Cut(a.Value, " ")
				if ok && strings.EqualFold(strings.TrimSpace(enc), "telephone-event/8000") {
					if n, err := strconv.ParseUint(pt, 10, 7); err == nil && slices.Contains(m.Payloads, uint8(n)) {
						m.TelephoneEvent = int(n)
					}
				}
			}
		}
		if len(m.Payloads) == 0 {
			return Media{}, fmt.Errorf("%w: no formats", ErrNoAudio)
		}
		return m, nil
	}
	return Media{}, ErrNoAudio
}

func direction(key string) (Direction, bool) {
	switch Direction(key) {
	case SendRecv, SendOnly, RecvOnly, Inactive:
		return Direction(key), true
	}
	return "", false
}

// Local describes the appliance's side of one audio stream.
type Local struct {
	Addr           netip.AddrPort
	Codec          g711.Codec
	TelephoneEvent int // -1 for none
	Direction      Direction
	SessionID      uint64
	Version        uint64
}

// Marshal builds the SDP body for l (RFC 4566), 20 ms G.711.
func (l Local) Marshal() []byte {
	ip := l.Addr.Addr()
	netType := "IP4"
	if ip.Is6() && !ip.Is4In6() {
		netType = "IP6"
	}
	name := "PCMU"
	if l.Codec == g711.PCMA {
		name = "PCMA"
	}
	dir := l.Direction
	if dir == "" {
		dir = SendRecv
	}
	var b strings.Builder
	b.Grow(320)
	fmt.Fprintf(&b, "v=0\r\no=ringside %d %d IN %s %s\r\ns=ringside\r\nc=IN %s %s\r\nt=0 0\r\n",
		l.SessionID, l.Version, netType, ip.Unmap(), netType, ip.Unmap())
	fmt.Fprintf(&b, "m=audio %d RTP/AVP %d", l.Addr.Port(), int(l.Codec))
	if l.TelephoneEvent >= 0 {
		fmt.Fprintf(&b, " %d", l.TelephoneEvent)
	}
	fmt.Fprintf(&b, "\r\na=rtpmap:%d %s/8000\r\n", int(l.Codec), name)
	if l.TelephoneEvent >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", l.TelephoneEvent, l.TelephoneEvent)
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", dir)
	return []byte(b.String())
}

// Offer is the appliance's offer to an agent phone. It offers only the caller's law: the relay passes
// G.711 through byte for byte, so the agent must use the same law as the caller (no transcoding).
func Offer(addr netip.AddrPort, codec g711.Codec, tePT int, sessID, version uint64) []byte {
	return Local{Addr: addr, Codec: codec, TelephoneEvent: tePT, Direction: SendRecv, SessionID: sessID, Version: version}.Marshal()
}
