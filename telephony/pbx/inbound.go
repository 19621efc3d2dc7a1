package pbx

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// maxCandidates bounds the dialed-number list built from forwarding headers.
const maxCandidates = 8

// parseInbound reads the caller and the dialed-number candidates from an initial INVITE. Everything
// it returns is sanitised.
func parseInbound(req *sip.Request) (Inbound, error) {
	from, to := req.From(), req.To()
	if from == nil || to == nil || req.CallID() == nil || req.CSeq() == nil || req.Contact() == nil || req.Via() == nil {
		return Inbound{}, fmt.Errorf("%w: missing From, To, Call-ID, CSeq, Via or Contact", ErrMalformed)
	}
	in := Inbound{SIPCallID: sanitizeNumber(string(*req.CallID()))}
	if ap, err := netip.ParseAddrPort(req.Source()); err == nil {
		in.Source = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	add := func(u string) {
		u = sanitizeNumber(u)
		if u == "" || len(in.Dialed) >= maxCandidates {
			return
		}
		for _, d := range in.Dialed {
			if d == u {
				return
			}
		}
		in.Dialed = append(in.Dialed, u)
	}
	add(req.Recipient.User)
	add(to.Address.User)
	for _, name := range []string{"Diversion", "History-Info"} {
		for _, h := range req.GetHeaders(name) {
			for _, v := range splitAddresses(h.Value()) {
				var u sip.Uri
				var p sip.HeaderParams
				if _, err := sip.ParseAddressValue(v, &u, &p); err == nil {
					add(u.User)
				}
			}
		}
	}

	caller, name := from.Address, from.DisplayName
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		for _, v := range splitAddresses(h.Value()) {
			var u sip.Uri
			var p sip.HeaderParams
			if dn, err := sip.ParseAddressValue(v, &u, &p); err == nil && (u.Scheme == "sip" || u.Scheme == "sips" || u.Scheme == "tel") {
				caller = u
				if dn != "" {
					name = dn
				}
				break
			}
		}
	}
	privacy := ""
	if h := req.GetHeader("Privacy"); h != nil {
		privacy = strings.ToLower(h.Value())
	}
	user := strings.ToLower(caller.User)
	in.Withheld = strings.Contains(privacy, "id") || strings.Contains(privacy, "user") ||
		user == "anonymous" || user == "restricted" || user == "unavailable" || user == "" ||
		strings.EqualFold(caller.Host, "anonymous.invalid")
	if !in.Withheld {
		in.Caller = sanitizeNumber(caller.User)
		in.CallerName = sanitizeName(name)
	}
	return in, nil
}

// splitAddresses splits a header value holding comma-separated name-addrs, ignoring commas
// inside <...> and quotes.
func splitAddresses(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v) && len(out) < maxCandidates; i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '<':
			if !quoted {
				depth++
			}
		case '>':
			if !quoted && depth > 0 {
				depth--
			}
		case ',':
			if !quoted && depth == 0 {
				out = append(out, strings.TrimSpace(v[start:i]))
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" && len(out) < maxCandidates {
		out = append(out, s)
	}
	return out
}
