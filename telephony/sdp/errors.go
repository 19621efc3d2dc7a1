package sdp

import "errors"

var (
	// ErrMalformed means the body is not SDP that could be parsed.
	ErrMalformed = errors.New("sdp: malformed description")
	// ErrNoAudio means the description has no usable audio stream (no m=audio with a port and address).
	ErrNoAudio = errors.New("sdp: no audio stream")
	// ErrNoCodec means no offered codec is PCMU or PCMA (RFC 3264 section 6: the answer must reject).
	ErrNoCodec = errors.New("sdp: no common codec")
	// ErrTooLarge means the body exceeds MaxSize.
	ErrTooLarge = errors.New("sdp: description too large")
)
