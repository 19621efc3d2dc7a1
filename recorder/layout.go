package recorder

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// File and folder modes: recordings are personal data, readable by the appliance's user only.
const (
	FileMode   = 0o600
	FolderMode = 0o700
)

// Name suffixes: a recording being written carries PartSuffix after FinalSuffix until it is closed.
const (
	FinalSuffix = ".wav"
	PartSuffix  = ".part"
)

// Layout places recordings under Root as Root/YYYY/MM/DD/<callid>.wav, dated by the call's start
// in the location of the time given (pass site-local or UTC consistently).
type Layout struct {
	Root string
}

// Path returns the final path of a call's recording. The call id must be a canonical UUID.
func (l Layout) Path(callID string, started time.Time) (string, error) {
	if err := ValidCallID(callID); err != nil {
		return "", err
	}
	return filepath.Join(l.Root, started.Format("2006"), started.Format("01"), started.Format("02"), callID+FinalSuffix), nil
}

// OtherName returns the other name of the same recording: the final name of an in-progress path,
// the in-progress name of a final one. A reference taken while a file was being closed may name
// either; whoever opens it tries both.
func OtherName(path string) string {
	if strings.HasSuffix(path, PartSuffix) {
		return strings.TrimSuffix(path, PartSuffix)
	}
	return path + PartSuffix
}

// ValidCallID accepts only the canonical lower-case 8-4-4-4-12 hex form of a UUID (RFC 9562 section 4),
// so that a call id can never carry a path separator, a dot or anything else into a file name.
func ValidCallID(id string) error {
	if len(id) != 36 {
		return fmt.Errorf("%w: %d characters", ErrBadCallID, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fmt.Errorf("%w: no hyphen at %d", ErrBadCallID, i)
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return fmt.Errorf("%w: character %d", ErrBadCallID, i)
			}
		}
	}
	return nil
}

// callIDFromName returns the call id of a recording file name (final or in progress).
func callIDFromName(name string) (id string, inProgress bool, ok bool) {
	if strings.HasSuffix(name, FinalSuffix+PartSuffix) {
		id, inProgress = strings.TrimSuffix(name, FinalSuffix+PartSuffix), true
	} else if strings.HasSuffix(name, FinalSuffix) {
		id = strings.TrimSuffix(name, FinalSuffix)
	} else {
		return "", false, false
	}
	if ValidCallID(id) != nil {
		return "", false, false
	}
	return id, inProgress, true
}
