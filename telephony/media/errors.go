package media

import "errors"

var (
	// ErrNoPorts means every port of the RTP range is in use.
	ErrNoPorts = errors.New("media: no free RTP port")
	// ErrWAV means a WAV file is not 8 kHz mono PCM16 or G.711.
	ErrWAV = errors.New("media: unsupported WAV file")
	// ErrClosed means the relay was closed.
	ErrClosed = errors.New("media: relay closed")
)
