package callerid_test

import (
	"encoding/binary"
	"testing"

	"github.com/ringside/ringside/telephony/callerid"
)

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return len(s) <= 64
}

func checkResult(t *testing.T, r callerid.Result) {
	for _, s := range []string{r.Number, r.Name, r.Called} {
		if !printableASCII(s) {
			t.Fatalf("unprintable or long field %q in %+v", s, r)
		}
	}
}

// FuzzParseFrame: any bytes, either FSK standard. Nothing panics, fields stay printable, and a
// call set-up frame that parses re-encodes to one that parses the same.
func FuzzParseFrame(f *testing.F) {
	f.Add(byte(1), handFrame(0x80, param(1, "11221530")+param(2, "2125550123")+param(7, "SMITH JOHN")))
	f.Add(byte(2), handFrame(0x80, param(3, "0163296")+param(4, "P")))
	f.Add(byte(1), handFrame(0x04, "11221530O"))
	f.Fuzz(func(t *testing.T, std byte, b []byte) {
		st := callerid.Bell202
		if std%2 == 0 {
			st = callerid.V23
		}
		r, err := callerid.ParseFrame(st, b)
		if err != nil {
			return
		}
		checkResult(t, r)
		if r.MessageType != callerid.TypeCallSetup {
			return
		}
		enc, err := callerid.EncodeMDMF(r)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", r, err)
		}
		r2, err := callerid.ParseFrame(st, enc)
		if err != nil {
			t.Fatalf("re-parse %+v: %v", r, err)
		}
		// Absence codes win over a number that was also sent; compare what survives both ways.
		if r2.Name != r.Name && !r.NameWithheld && !r.NameUnavailable ||
			r2.Number != r.Number && !r.Withheld && !r.Unavailable || r2.Time != r.Time {
			t.Fatalf("round trip changed %+v into %+v", r, r2)
		}
	})
}

// FuzzParseDTMF: nothing panics; whatever parses formats back to a string that parses the same.
func FuzzParseDTMF(f *testing.F) {
	for _, s := range []string{"D5551234C", "A0612345#", "B10C", "B00C", "D1#", "D3#", "DC", "B99C"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := callerid.ParseDTMF(s)
		if err != nil {
			return
		}
		checkResult(t, r)
		out, err := callerid.FormatDTMF(r)
		if err != nil {
			t.Fatalf("format %+v: %v", r, err)
		}
		r2, err := callerid.ParseDTMF(out)
		if err != nil || r2 != r {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, r, out, r2, err)
		}
	})
}

// FuzzFSKDecoder: arbitrary audio (little-endian 16-bit samples) never panics and never yields
// a result with unprintable fields.
func FuzzFSKDecoder(f *testing.F) {
	fr, _ := callerid.EncodeMDMF(callerid.Result{Number: "5551234", Name: "A B"})
	s, _ := callerid.FSKSignal(callerid.Bell202, fr, 30, 20, -10)
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	f.Add(true, b)
	f.Add(false, []byte{0, 0x7f, 0xff, 0x80, 1, 2, 3})
	f.Fuzz(func(t *testing.T, bell bool, b []byte) {
		st := callerid.V23
		if bell {
			st = callerid.Bell202
		}
		d, err := callerid.NewFSKDecoder(st, 0, discard())
		if err != nil {
			t.Fatal(err)
		}
		samples := make([]int16, len(b)/2)
		for i := range samples {
			samples[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		res, _ := d.Process(nil, samples)
		for _, r := range res {
			checkResult(t, r)
		}
	})
}
