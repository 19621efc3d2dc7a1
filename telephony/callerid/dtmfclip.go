package callerid

import (
	"fmt"
	"strings"
	"time"

	"github.com/ringside/ringside/telephony/dsp"
)

// DTMF CLIP: the exchange sends the number as DTMF before the first ring. The format, as the
// Danish (TDC) and Dutch (KPN) networks use it and as Asterisk's callerid_get_dtmf reads it:
//
//	A<digits>#  or  D<digits>C   the calling number ('A' or 'D' start, '#' or 'C' end)
//	B00C / B10C                  number unavailable / withheld (private)
//	D1# / D2# / D3#              withheld / unavailable (international) / unavailable (technical)
//
// Tones are at least 50 ms with 50 ms pauses; no checksum exists, so a digit lost to noise
// shortens the number, which is why the decoder insists on the start and end codes.
const (
	dtmfMaxDigits = 32
	// dtmfClipGap is the longest pause between two digits of one CLIP string: 50-70 ms pauses
	// are sent; after this much quiet an unterminated string is dropped.
	dtmfClipGap = 500 * time.Millisecond
)

// ParseDTMF decodes a DTMF CLIP string (start code, digits, end code) into a Result.
func ParseDTMF(s string) (Result, error) {
	r := Result{Standard: DTMF}
	if len(s) < 2 || len(s) > dtmfMaxDigits+2 {
		return Result{}, fmt.Errorf("DTMF CLIP of %d keys: %w", len(s), ErrMalformed)
	}
	end := s[len(s)-1]
	if end != 'C' && end != '#' {
		return Result{}, fmt.Errorf("DTMF CLIP without end code: %w", ErrMalformed)
	}
	body := s[1 : len(s)-1]
	switch s[0] {
	case 'B':
		switch body {
		case "00":
			r.Unavailable = true
		case "10":
			r.Withheld = true
		default:
			return Result{}, fmt.Errorf("DTMF CLIP special code B%s: %w", body, ErrMalformed)
		}
		return r, nil
	case 'A', 'D':
		if s[0] == 'D' && end == '#' && len(body) == 1 {
			switch body {
			case "1":
				r.Withheld = true
				return r, nil
			case "2", "3":
				r.Unavailable = true
				return r, nil
			}
		}
		if body == "" || strings.Trim(body, "0123456789") != "" {
			return Result{}, fmt.Errorf("DTMF CLIP number with %d keys: %w", len(body), ErrMalformed)
		}
		r.Number = body
		return r, nil
	}
	return Result{}, fmt.Errorf("DTMF CLIP start code %q: %w", s[0], ErrMalformed)
}

// FormatDTMF returns the DTMF CLIP string for r: D<number>C, B10C when withheld, B00C when
// unavailable.
func FormatDTMF(r Result) (string, error) {
	switch {
	case r.Withheld:
		return "B10C", nil
	case r.Unavailable:
		return "B00C", nil
	}
	if r.Number == "" || len(r.Number) > dtmfMaxDigits || strings.Trim(r.Number, "0123456789") != "" {
		return "", fmt.Errorf("number of %d characters for DTMF CLIP: %w", len(r.Number), ErrMalformed)
	}
	return "D" + r.Number + "C", nil
}

// DTMFDecoder finds DTMF CLIP strings in a stream of 8 kHz samples. It is not safe for
// concurrent use; use one per line.
type DTMFDecoder struct {
	det    *dsp.DTMFDetector
	keys   []byte
	last   int64 // sample offset of the last key
	digits []dsp.Digit
	gap    int64
}

// NewDTMFDecoder returns a DTMF CLIP decoder with the default DTMF acceptance limits.
func NewDTMFDecoder() *DTMFDecoder {
	return &DTMFDecoder{
		det:  dsp.NewDTMFDetector(dsp.DTMFConfig{}),
		keys: make([]byte, 0, dtmfMaxDigits+2),
		gap:  int64(dsp.Samples(dtmfClipGap)),
	}
}

// Reset forgets all state.
func (d *DTMFDecoder) Reset() {
	d.det.Reset()
	d.keys = d.keys[:0]
	d.last = 0
}

// Process consumes samples and appends each complete CLIP string's result to dst. A string that
// does not parse is reported as an error (after the other results are appended).
func (d *DTMFDecoder) Process(dst []Result, samples []int16) ([]Result, error) {
	var firstErr error
	d.digits = d.det.Process(d.digits[:0], samples)
	for _, dg := range d.digits {
		if len(d.keys) > 0 && dg.At-d.last > d.gap {
			d.keys = d.keys[:0] // the previous string stopped without its end code
		}
		d.last = dg.At
		switch {
		case len(d.keys) == 0:
			if dg.Key == 'A' || dg.Key == 'B' || dg.Key == 'D' {
				d.keys = append(d.keys, dg.Key)
			}
		default:
			d.keys = append(d.keys, dg.Key)
			if dg.Key == 'C' || dg.Key == '#' || len(d.keys) == cap(d.keys) {
				r, err := ParseDTMF(string(d.keys))
				d.keys = d.keys[:0]
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				dst = append(dst, r)
			}
		}
	}
	return dst, firstErr
}
