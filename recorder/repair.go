package recorder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// Repaired reports one recording found in progress at start: the call it belongs to (to be marked
// interrupted), the path it now has, and how much audio it kept.
type Repaired struct {
	CallID string
	Path   string // final path, or "" when the file held no usable header and was set aside
	Frames int64
	Err    error // why the file could not be repaired, if it could not
}

// maxRepairFiles bounds one repair pass.
const maxRepairFiles = 100000

// Repair finds every recording left in progress under root (a previous run died: kill -9, power
// loss), sets its header sizes from the file's length, and renames it to its final name. It must run
// before any Writer starts. A file whose header cannot be read is renamed to <id>.wav.damaged so it
// is neither served nor repaired again. Only names of the form <uuid>.wav.part are touched.
func Repair(root string, log *slog.Logger) ([]Repaired, error) {
	var out []Repaired
	count := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			if rel, _ := filepath.Rel(root, path); rel != "." && strings.Count(rel, string(filepath.Separator)) >= 3 {
				return fs.SkipDir // deeper than YYYY/MM/DD
			}
			return nil
		}
		id, inProgress, ok := callIDFromName(d.Name())
		if !ok || !inProgress || !d.Type().IsRegular() {
			return nil
		}
		count++
		if count > maxRepairFiles {
			return fmt.Errorf("recorder: more than %d files in progress under %s", maxRepairFiles, root)
		}
		r := repairOne(path, id)
		if r.Err != nil {
			log.Warn("recording could not be repaired", "call", id, "err", r.Err)
		} else {
			log.Info("interrupted recording repaired", "call", id, "seconds", float64(r.Frames)/sampleRate)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("recorder: repair under %s: %w", root, err)
	}
	return out, nil
}

func repairOne(part, id string) Repaired {
	final := strings.TrimSuffix(part, PartSuffix)
	r := Repaired{CallID: id}
	frames, err := fixSizes(part)
	if err != nil {
		r.Err = err
		damaged := final + ".damaged"
		if rerr := os.Rename(part, damaged); rerr != nil {
			r.Err = fmt.Errorf("%w; and set aside: %w", err, rerr)
		}
		return r
	}
	if err := os.Rename(part, final); err != nil {
		r.Err = fmt.Errorf("recorder: rename %s: %w", part, err)
		return r
	}
	r.Path, r.Frames = final, frames
	return r
}

// fixSizes truncates a recording to whole frames and rewrites its RIFF, fact and data sizes from the
// file length. It returns the frames kept.
func fixSizes(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("recorder: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	var hb [maxHeader]byte
	n, err := f.ReadAt(hb[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("recorder: read %s: %w", path, err)
	}
	info, patches, err := resized(hb[:n], st.Size())
	if err != nil {
		return 0, err
	}
	for _, p := range patches {
		var v [4]byte
		binary.LittleEndian.PutUint32(v[:], p.value)
		if _, err := f.WriteAt(v[:], p.at); err != nil {
			return 0, fmt.Errorf("recorder: rewrite header of %s: %w", path, err)
		}
	}
	dataLen := int64(patches[len(patches)-1].value)
	if err := f.Truncate(info.DataOffset + dataLen); err != nil {
		return 0, fmt.Errorf("recorder: truncate %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("recorder: fsync %s: %w", path, err)
	}
	return dataLen / int64(info.BlockAlign), nil
}

type patch struct {
	at    int64
	value uint32
}

// resized parses a header and computes the size fields for a file of fileSize bytes; the last patch
// is always the data size.
func resized(hdr []byte, fileSize int64) (wavInfo, []patch, error) {
	info, err := parseHeader(hdr)
	if err != nil {
		return info, nil, err
	}
	dataLen := fileSize - info.DataOffset
	if dataLen < 0 {
		dataLen = 0
	}
	dataLen -= dataLen % int64(info.BlockAlign)
	if info.DataOffset+dataLen > 0xffffffff {
		dataLen = (0xffffffff - info.DataOffset) / int64(info.BlockAlign) * int64(info.BlockAlign)
	}
	ps := []patch{{4, uint32(info.DataOffset - 8 + dataLen)}}
	if info.FactOffset >= 0 {
		ps = append(ps, patch{info.FactOffset, uint32(dataLen / int64(info.Channels))})
	}
	ps = append(ps, patch{info.DataOffset - 4, uint32(dataLen)})
	return info, ps, nil
}
