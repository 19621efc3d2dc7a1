package web

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/ringside/ringside/edge/call"
	"github.com/ringside/ringside/recorder"
)

// RecorderFiles serves the recorder's files under root (the recordings folder): each G.711 WAV
// is decoded on the fly to 16-bit PCM, which every browser plays (recorder.OpenPCM). The path
// comes from the call record, never from the request. The file is served under whichever of its
// two names it has now (recorder.OtherName): a recording still being closed is in progress, and a
// record written while it was may name it so after it was finished.
func RecorderFiles(root string) Recordings {
	return RecordingsFunc(func(rec call.Record) (io.ReadSeekCloser, time.Time, error) {
		path := filepath.Join(root, filepath.Clean("/"+rec.Recording))
		p, err := recorder.OpenPCM(path)
		if errors.Is(err, fs.ErrNotExist) {
			p, err = recorder.OpenPCM(recorder.OtherName(path))
		}
		if err != nil {
			return nil, time.Time{}, err
		}
		return p, p.ModTime(), nil
	})
}
