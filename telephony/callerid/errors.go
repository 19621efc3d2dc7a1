package callerid

import "errors"

// Sentinel errors; compare with errors.Is.
var (
	// ErrChecksum: the frame's bytes, checksum included, do not sum to zero modulo 256
	// (GR-30-CORE section 5.3, EN 300 659-3 clause 5.1): at least one byte was received wrong.
	ErrChecksum = errors.New("caller ID checksum mismatch")
	// ErrMalformed: the frame or DTMF string does not follow the message format.
	ErrMalformed = errors.New("malformed caller ID message")
	// ErrNotCallerID: a well-formed message that carries no caller identity (message waiting,
	// advice of charge, SMS).
	ErrNotCallerID = errors.New("message carries no caller ID")
	// ErrNoCallerID: a whole buffer held no caller ID message.
	ErrNoCallerID = errors.New("no caller ID found")
	// ErrStandard: the standard given does not fit the function (an FSK decoder for DTMF).
	ErrStandard = errors.New("unsupported caller ID standard")
)
