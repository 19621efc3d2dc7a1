package web

import (
	"io"
	"path/filepath"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/recorder"
)

// RecorderFiles serves the recorder's files under root (the recordings folder): each G.711 WAV
// is decoded on the fly to 16-bit PCM, which every browser plays (recorder.OpenPCM). The path
// comes from the call record, never from the request.
func RecorderFiles(root string) Recordings {
	return RecordingsFunc(func(rec call.Record) (io.ReadSeekCloser, time.Time, error) {
		p, err := recorder.OpenPCM(filepath.Join(root, filepath.Clean("/"+rec.Recording)))
		if err != nil {
			return nil, time.Time{}, err
		}
		return p, p.ModTime(), nil
	})
}
