package pbx

import "errors"

var (
	// ErrConfig means the configuration is inconsistent; the message names the key.
	ErrConfig = errors.New("pbx: bad configuration")
	// ErrDraining means the server no longer takes calls.
	ErrDraining = errors.New("pbx: draining")
	// ErrNoRoute is what a Router returns when no tracking number matches; the call is refused 404.
	ErrNoRoute = errors.New("pbx: no route for dialed number")
	// ErrMalformed means an INVITE lacked required headers or a usable SDP offer (outcome failed).
	ErrMalformed = errors.New("pbx: malformed request")
)
