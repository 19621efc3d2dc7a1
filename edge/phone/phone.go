// Package phone normalises phone numbers to E.164 and recognises withheld callers.
//
// Parsing and validation use github.com/nyaruka/phonenumbers, a maintained Go port of Google's
// libphonenumber: the numbering plans of every country change often, and a hand-written parser would
// go stale. Numbers written without a country code take the site's default region.
package phone

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaxInputLength bounds what is handed to the parser; no real number comes near it.
const MaxInputLength = 64

// ErrWithheld means the caller withheld the number or the network did not deliver it.
var ErrWithheld = errors.New("number withheld or unavailable")

// withheldWords are what ATAs, carriers and Caller ID equipment put where a number would be.
var withheldWords = map[string]bool{
	"": true, "anonymous": true, "restricted": true, "private": true, "unavailable": true,
	"unknown": true, "withheld": true, "blocked": true, "out of area": true, "o": true, "p": true,
}

// ValidRegion reports whether region is an ISO 3166 region the numbering plans know.
func ValidRegion(region string) bool {
	return phonenumbers.GetCountryCodeForRegion(strings.ToUpper(region)) != 0
}

// Normalize returns raw as an E.164 number ("+15551234567"). A number without a country code is read
// in region. It returns ErrWithheld for the markers of a withheld caller, and an error naming the
// problem for anything that is not a possible number.
func Normalize(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if withheldWords[strings.ToLower(s)] {
		return "", ErrWithheld
	}
	if len(s) > MaxInputLength {
		return "", fmt.Errorf("number is longer than %d characters", MaxInputLength)
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil {
		return "", fmt.Errorf("not a phone number %q: %w", s, err)
	}
	if !phonenumbers.IsPossibleNumber(num) {
		return "", fmt.Errorf("not a possible number %q for its country", s)
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	// ITU-T E.164 section 6: at most 15 digits with the country code. The numbering plans accept a
	// few longer national numbers (DE) that no carrier can deliver in international form.
	if len(e164) > 1+15 {
		return "", fmt.Errorf("not a possible number %q: longer than E.164's 15 digits", s)
	}
	// Some degenerate inputs (a national number of all zeros) format to an E.164 string that reads
	// back as a different number; refuse them, so that a normalised number normalises to itself.
	back, err := phonenumbers.Parse(e164, phonenumbers.UNKNOWN_REGION)
	if err != nil || phonenumbers.Format(back, phonenumbers.E164) != e164 {
		return "", fmt.Errorf("not a possible number %q for its country", s)
	}
	return e164, nil
}

// NormalizeValid is Normalize for a number the site owns, such as a tracking number: besides being
// possible, the number must be valid, in a range its country's numbering plan assigns (libphonenumber's
// IsValidNumber). "555-0100" read in the US is possible (+15550100, seven digits) but lacks its area
// code, and no call will ever be dialled to it. Callers' numbers go through Normalize: a network may
// deliver numbers the plans do not know yet, and they are kept rather than refused.
func NormalizeValid(raw, region string) (string, error) {
	e164, err := Normalize(raw, region)
	if err != nil {
		return "", err
	}
	num, err := phonenumbers.Parse(e164, phonenumbers.UNKNOWN_REGION)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%q reads as %s in region %s, which is not a valid number there (an area code missing?)",
			strings.TrimSpace(raw), e164, strings.ToUpper(region))
	}
	return e164, nil
}
