package uplink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// CallerMode says how much of the caller's number leaves the box.
type CallerMode string

// The four modes of uplink.caller_number.
const (
	CallerFull   CallerMode = "full"   // the E.164 number as received
	CallerMasked CallerMode = "masked" // "****" and the last four digits
	CallerHashed CallerMode = "hashed" // hex HMAC-SHA256(site secret, E.164 number): joinable, not readable
	CallerOmit   CallerMode = "omit"   // no number at all
)

// ParseCallerMode accepts the config value of uplink.caller_number.
func ParseCallerMode(s string) (CallerMode, error) {
	switch m := CallerMode(s); m {
	case CallerFull, CallerMasked, CallerHashed, CallerOmit:
		return m, nil
	}
	return "", fmt.Errorf("%w: uplink.caller_number %q: want full, masked, hashed or omit", ErrConfig, s)
}

// Privacy is the site's caller-number policy for the uplink.
type Privacy struct {
	Mode   CallerMode
	Secret []byte // HMAC key for CallerHashed; the same secret gives the same hash for the same number
}

// Validate rejects an unknown mode and hashing without a secret.
func (p Privacy) Validate() error {
	if _, err := ParseCallerMode(string(p.Mode)); err != nil {
		return err
	}
	if p.Mode == CallerHashed && len(p.Secret) == 0 {
		return fmt.Errorf("%w: uplink.hash_secret: caller_number hashed needs a secret", ErrConfig)
	}
	return nil
}

// Caller renders a raw number ("" when withheld) per the mode.
func (p Privacy) Caller(number string) Caller {
	c := Caller{Privacy: p.Mode, Withheld: number == ""}
	if c.Withheld {
		return c
	}
	switch p.Mode {
	case CallerFull:
		c.Number = number
	case CallerMasked:
		c.Number = MaskNumber(number)
	case CallerHashed:
		c.Number = HashNumber(p.Secret, number)
	}
	return c
}

// MaskNumber keeps the last four digits of a number: "+441632960123" -> "****0123". A number with
// four digits or fewer is masked entirely, since its last four digits are the whole number.
func MaskNumber(number string) string {
	var digits []byte
	for i := 0; i < len(number); i++ {
		if number[i] >= '0' && number[i] <= '9' {
			digits = append(digits, number[i])
		}
	}
	if len(digits) <= 4 {
		return "****"
	}
	return "****" + string(digits[len(digits)-4:])
}

// HashNumber is hex(HMAC-SHA256(secret, number)) (RFC 2104): a consumer holding the secret can
// match a known number; without it the hash reveals nothing useful, unlike a bare SHA-256 of a phone
// number, which can be reversed by trying every number.
func HashNumber(secret []byte, number string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil))
}
