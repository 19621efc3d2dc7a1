package pbx

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits for caller data that reaches logs, the database and the web page.
const (
	maxNumberLen = 32 // E.164 is 15 digits; leave room for prefixes and extensions
	maxNameLen   = 48 // runes
)

// sanitizeNumber keeps the characters a dialable number or SIP user part may hold: digits, + * #,
// ASCII letters and . - _ ; everything else (CR, LF, control characters, quotes, markup) is dropped,
// and the result is capped.
func sanitizeNumber(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxNumberLen; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z',
			c == '+', c == '*', c == '#', c == '.', c == '-', c == '_':
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sanitizeName keeps letters, digits, spaces and a few punctuation marks, collapses runs of space,
// and caps the length in runes. Invalid UTF-8 is dropped.
func sanitizeName(s string) string {
	var b strings.Builder
	n, space := 0, false
	for _, r := range s {
		if n >= maxNameLen {
			break
		}
		switch {
		case r == utf8.RuneError:
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".,'-&()+", r):
		default:
			continue
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// redact shows the last three digits of a number, for logs (caller numbers are personal data).
func redact(num string) string {
	if len(num) <= 3 {
		return "***"
	}
	return "***" + num[len(num)-3:]
}

// reasonPhrase gives the RFC 3261 section 21 reason phrase for the codes we send.
func reasonPhrase(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Internal Error"
	case 503:
		return "Service Unavailable"
	case 600:
		return "Busy Everywhere"
	case 603:
		return "Decline"
	}
	return "Refused"
}
