package config

import (
	"errors"
	"sort"
	"strings"
)

// KeyError is a refusal of one key found after validation, by a step that reads what the key
// names (a WAV file, a certificate) or asks this build what it can do. Config.Locate places it in
// the file.
type KeyError struct {
	Key string // e.g. queues[0].hold_music
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// source is where a parsed config came from, so that later checks can name file and line.
type source struct {
	file string
	idx  keyIndex
}

// Locate turns errors into Problems of the file the config was parsed from: a *KeyError at the
// line of its key (or of its nearest parent in the file), any other error as a problem of the
// whole file. A config built in code has no file: its problems carry the key alone.
func (c *Config) Locate(errs []error) Problems {
	ps := make(Problems, 0, len(errs))
	for _, err := range errs {
		if ke, ok := errors.AsType[*KeyError](err); ok {
			// A part's error may start with the key it is about; the problem names it already.
			msg := strings.TrimPrefix(ke.Err.Error(), ke.Key+": ")
			ps = append(ps, Problem{File: c.src.file, Line: c.src.idx.line(ke.Key), Key: ke.Key, Msg: msg})
		} else {
			ps = append(ps, Problem{File: c.src.file, Msg: err.Error()})
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return ps
}
