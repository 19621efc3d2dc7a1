package fxo

import "errors"

var (
	// ErrConfig means the port's configuration is inconsistent; the message names the key.
	ErrConfig = errors.New("fxo: bad configuration")
	// ErrRefused means the appliance answered the line's INVITE with a final error response
	// (EventRefused with ReasonRefused and the status in Code).
	ErrRefused = errors.New("fxo: call refused by the appliance")
	// ErrUnreachable means the line's INVITE could not be sent or had no final answer within
	// DefaultDialTimeout (EventRefused with ReasonUnreachable).
	ErrUnreachable = errors.New("fxo: appliance unreachable")
	// ErrSetup means the appliance answered but the call could not be set up: the ACK failed or
	// the answer's SDP was unusable (EventRefused with ReasonSetupFailed).
	ErrSetup = errors.New("fxo: call set-up failed")
	// ErrLine means the line interface failed (no audio, hook relay error).
	ErrLine = errors.New("fxo: line interface failed")
)

// refusalReason is the EventRefused reason of a failed dial.
func refusalReason(err error) string {
	switch {
	case errors.Is(err, ErrRefused):
		return ReasonRefused
	case errors.Is(err, ErrSetup):
		return ReasonSetupFailed
	default:
		return ReasonUnreachable // ErrUnreachable, or the dial gave up (its context ended)
	}
}
