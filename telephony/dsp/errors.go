package dsp

import "errors"

// ErrNotDTMF is returned by AppendDTMF for a character that is not one of the sixteen DTMF
// keys (0-9, A-D, * and #).
var ErrNotDTMF = errors.New("not a DTMF key")

// ErrUnknownCountry is returned by LookupCountry for a country whose call-progress tones this
// package does not know.
var ErrUnknownCountry = errors.New("unknown country")
