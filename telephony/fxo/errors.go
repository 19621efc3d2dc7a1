package fxo

import "errors"

var (
	// ErrConfig means the port's configuration is inconsistent; the message names the key.
	ErrConfig = errors.New("fxo: bad configuration")
	// ErrRefused means the appliance answered the line's INVITE with a final error response.
	ErrRefused = errors.New("fxo: call refused by the appliance")
	// ErrLine means the line interface failed (no audio, hook relay error).
	ErrLine = errors.New("fxo: line interface failed")
)
