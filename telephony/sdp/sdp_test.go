package sdp

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/ringside/ringside/telephony/g711"
)

const offerCAfterT = "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nt=0 0\r\nc=IN IP4 10.0.0.5\r\n" +
	"m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendonly\r\n"

func TestParseSessionCAfterT(t *testing.T) {
	m, err := Parse([]byte(offerCAfterT))
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParseAddrPort("10.0.0.5:4000"); m.Addr != want {
		t.Errorf("addr %v, want %v", m.Addr, want)
	}
	if c, err := m.Codec(); err != nil || c != g711.PCMA {
		t.Errorf("codec %v %v, want PCMA", c, err)
	}
	if m.TelephoneEvent != 101 || m.Direction != SendOnly || m.Ptime != 20 {
		t.Errorf("got %+v", m)
	}
	if !m.Direction.Held() || m.Direction.Reverse() != RecvOnly {
		t.Error("direction helpers")
	}
}

func TestParseRejects(t *testing.T) {
	for name, body := range map[string]string{
		"garbage":  "hello",
		"no audio": "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5 RTP/AVP 96\r\n",
		"no conn":  "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0\r\n",
		"port 0 ":  "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n",
	} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m, err := Parse([]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5 RTP/AVP 18\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Codec(); !errors.Is(err, ErrNoCodec) {
		t.Errorf("G.729 only: %v", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, c := range []g711.Codec{g711.PCMU, g711.PCMA} {
		l := Local{Addr: netip.MustParseAddrPort("127.0.0.1:20000"), Codec: c, TelephoneEvent: 101, Direction: RecvOnly, SessionID: 7, Version: 3}
		m, err := Parse(l.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := m.Codec()
		if m.Addr != l.Addr || got != c || m.TelephoneEvent != 101 || m.Direction != RecvOnly || m.Version != 3 {
			t.Errorf("round trip %+v from %+v", m, l)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(offerCAfterT))
	f.Add(Local{Addr: netip.MustParseAddrPort("127.0.0.1:20000"), TelephoneEvent: -1}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if !m.Addr.IsValid() || len(m.Payloads) == 0 {
			t.Fatalf("accepted without address or payloads: %+v", m)
		}
		// Whatever we accept, our own rendering of it must parse again.
		c, err := m.Codec()
		if err != nil {
			return
		}
		if _, err := Parse(Local{Addr: m.Addr, Codec: c, TelephoneEvent: -1}.Marshal()); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
