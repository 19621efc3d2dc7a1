package callerid_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/callerid"
)

func TestEncodeParseRoundTrip(t *testing.T) {
	dt := callerid.DateTime{Month: 12, Day: 31, Hour: 23, Minute: 59}
	cases := []callerid.Result{
		{Standard: callerid.Bell202, MessageType: callerid.TypeCallSetup, Number: "6175551212", Name: "O'BRIEN PAT", Time: dt},
		{Standard: callerid.Bell202, MessageType: callerid.TypeCallSetup, Withheld: true, NameUnavailable: true, Time: dt},
		{Standard: callerid.V23, MessageType: callerid.TypeCallSetup, Number: "01632960123", Called: "01632960999"},
		{Standard: callerid.V23, MessageType: callerid.TypeCallSetup, Unavailable: true, NameWithheld: true},
	}
	for _, want := range cases {
		f, err := callerid.EncodeMDMF(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := callerid.ParseFrame(want.Standard, f)
		if err != nil || got != want {
			t.Errorf("MDMF round trip: got %+v, %v\nwant %+v", got, err, want)
		}
	}
	sd := callerid.Result{Standard: callerid.Bell202, MessageType: callerid.TypeSDMF, Number: "5551234", Time: dt}
	f, err := callerid.EncodeSDMF(sd)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := callerid.ParseFrame(callerid.Bell202, f); err != nil || got != sd {
		t.Errorf("SDMF round trip: got %+v, %v", got, err)
	}
}

func TestParseFrameErrors(t *testing.T) {
	good := handFrame(0x80, param(2, "5551234"))
	bad := append([]byte(nil), good...)
	bad[5] ^= 0x01 // one bit wrong in the number
	if _, err := callerid.ParseFrame(callerid.Bell202, bad); !errors.Is(err, callerid.ErrChecksum) {
		t.Errorf("flipped bit: %v, want ErrChecksum", err)
	}
	if _, err := callerid.ParseFrame(callerid.Bell202, good[:len(good)-1]); !errors.Is(err, callerid.ErrMalformed) {
		t.Errorf("short frame: %v, want ErrMalformed", err)
	}
	overrun := handFrame(0x80, "\x02\x09555")
	if _, err := callerid.ParseFrame(callerid.Bell202, overrun); !errors.Is(err, callerid.ErrMalformed) {
		t.Errorf("parameter overrun: %v, want ErrMalformed", err)
	}
	mwi := handFrame(0x82, "\x0b\x01\xff")
	if _, err := callerid.ParseFrame(callerid.Bell202, mwi); !errors.Is(err, callerid.ErrNotCallerID) {
		t.Errorf("message waiting: %v, want ErrNotCallerID", err)
	}
	// Control characters never reach the caller.
	r, err := callerid.ParseFrame(callerid.Bell202, handFrame(0x80, param(7, "EVIL\r\nNAME\x00")))
	if err != nil || r.Name != "EVILNAME" {
		t.Errorf("name with control characters: %q, %v", r.Name, err)
	}
	// A bad date is dropped, the number kept.
	r, err = callerid.ParseFrame(callerid.Bell202, handFrame(0x04, "13452599"+"5551234"))
	if err != nil || !r.Time.IsZero() || r.Number != "5551234" {
		t.Errorf("bad date: %+v, %v", r, err)
	}
}

func TestFSKDecoderReportsBadChecksum(t *testing.T) {
	f := handFrame(0x80, param(2, "5551234"))
	f[len(f)-1]++
	s, err := callerid.FSKSignal(callerid.Bell202, f, callerid.SeizureBits, callerid.MarkBits, -15)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callerid.Decode(callerid.Bell202, s); !errors.Is(err, callerid.ErrChecksum) {
		t.Errorf("got %v, want ErrChecksum", err)
	}
	if _, err := callerid.Decode(callerid.Bell202, make([]int16, 8000)); !errors.Is(err, callerid.ErrNoCallerID) {
		t.Errorf("silence: got %v, want ErrNoCallerID", err)
	}
}

// Feeding 20 ms chunks must give exactly what one whole buffer gives, for both decoders.
func TestStreamingMatchesWholeBuffer(t *testing.T) {
	want := callerid.Result{Standard: callerid.V23, MessageType: callerid.TypeCallSetup, Number: "0145678901", Name: "DUPONT"}
	f, _ := callerid.EncodeMDMF(want)
	s, _ := callerid.FSKSignal(callerid.V23, f, 0, 80, -20) // ETSI after polarity reversal: no seizure
	d, err := callerid.NewFSKDecoder(callerid.V23, 0, discard())
	if err != nil {
		t.Fatal(err)
	}
	var got []callerid.Result
	for i := 0; i < len(s); i += 160 {
		got, err = d.Process(got, s[i:min(i+160, len(s))])
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("FSK in chunks: %+v", got)
	}

	dt, _ := callerid.DTMFSignal(callerid.Result{Number: "4512345678"}, -12)
	dd := callerid.NewDTMFDecoder()
	var dres []callerid.Result
	for i := 0; i < len(dt); i += 160 {
		dres, err = dd.Process(dres, dt[i:min(i+160, len(dt))])
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(dres) != 1 || dres[0].Number != "4512345678" {
		t.Errorf("DTMF in chunks: %+v", dres)
	}
}

func TestParseDTMF(t *testing.T) {
	for in, want := range map[string]callerid.Result{
		"D12345C":   {Standard: callerid.DTMF, Number: "12345"},
		"A0612345#": {Standard: callerid.DTMF, Number: "0612345"},
		"B00C":      {Standard: callerid.DTMF, Unavailable: true},
		"B10C":      {Standard: callerid.DTMF, Withheld: true},
		"D1#":       {Standard: callerid.DTMF, Withheld: true},
		"D2#":       {Standard: callerid.DTMF, Unavailable: true},
	} {
		if got, err := callerid.ParseDTMF(in); err != nil || got != want {
			t.Errorf("%s: %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "D", "DC", "D12", "B99C", "D12*3C", "C123D", "12345"} {
		if _, err := callerid.ParseDTMF(in); !errors.Is(err, callerid.ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", in, err)
		}
	}
}

func TestDateTimeIn(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	now := time.Date(2027, 1, 1, 0, 5, 0, 0, loc)
	got := callerid.DateTime{Month: 12, Day: 31, Hour: 23, Minute: 59}.In(now)
	if want := time.Date(2026, 12, 31, 23, 59, 0, 0, loc); !got.Equal(want) {
		t.Errorf("New Year's Eve read after midnight: %v, want %v", got, want)
	}
	got = callerid.DateTime{Month: 1, Day: 1, Hour: 0, Minute: 1}.In(time.Date(2026, 12, 31, 23, 58, 0, 0, loc))
	if got.Year() != 2027 {
		t.Errorf("exchange clock ahead over New Year: %v", got)
	}
	if !(callerid.DateTime{}).In(now).IsZero() {
		t.Error("zero DateTime gave a time")
	}
}

func TestParseStandard(t *testing.T) {
	for _, s := range []callerid.Standard{callerid.Bell202, callerid.V23, callerid.DTMF} {
		if got, err := callerid.ParseStandard(s.String()); err != nil || got != s {
			t.Errorf("%v: %v, %v", s, got, err)
		}
	}
	if _, err := callerid.ParseStandard("v.21"); !errors.Is(err, callerid.ErrStandard) {
		t.Errorf("v.21: %v", err)
	}
	if _, err := callerid.NewFSKDecoder(callerid.DTMF, 0, discard()); !errors.Is(err, callerid.ErrStandard) {
		t.Errorf("FSK decoder for DTMF: %v", err)
	}
}
