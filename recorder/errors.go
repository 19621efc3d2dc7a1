package recorder

import "errors"

// Sentinel errors. A Result's Reason wraps one of the first five when a recording was cut.
var (
	// ErrBufferFull: the writer could not keep up (slow disk) and the bounded input buffer filled.
	ErrBufferFull = errors.New("recorder: input buffer full, disk too slow")
	// ErrDiskFull: the file system ran out of space (ENOSPC or EDQUOT).
	ErrDiskFull = errors.New("recorder: disk full")
	// ErrLowDisk: free space is at the floor the recordings leave for others (WriterConfig.MinFreeBytes).
	ErrLowDisk = errors.New("recorder: disk space at the floor kept free")
	// ErrWrite: any other write, sync or close failure of the recording file.
	ErrWrite = errors.New("recorder: write failed")
	// ErrTooLong: the recording reached the 4 GiB limit of a RIFF file (about 74 hours).
	ErrTooLong = errors.New("recorder: recording reached the WAV size limit")

	// ErrBadCallID: a call id is not a canonical lower-case UUID, so it cannot name a file.
	ErrBadCallID = errors.New("recorder: call id is not a canonical UUID")
	// ErrNotRecording: a file is not a WAV this package can read or repair.
	ErrNotRecording = errors.New("recorder: not a recording")
	// ErrConfig: a configuration value is out of range; the message names the field.
	ErrConfig = errors.New("recorder: bad configuration")
)
