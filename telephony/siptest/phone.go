package siptest

import (
	"log/slog"
	"testing"
	"time"

	"github.com/ringside/ringside/telephony/softphone"
)

// Phone is a softphone with its own RTP peer, closed at test cleanup.
type Phone struct {
	*softphone.Phone
	RTP *RTPPeer
}

// InCall and OutCall are the softphone's calls.
type (
	InCall  = softphone.InCall
	OutCall = softphone.OutCall
)

// ErrNoCall is returned by WaitIncoming on timeout.
var ErrNoCall = softphone.ErrNoCall

// NewPhone starts a phone on ip (UDP, random port) whose SDP announces its RTP peer.
func NewPhone(t testing.TB, ip, user, pass string) *Phone {
	t.Helper()
	sp, err := softphone.New(ip, user, pass, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p := &Phone{Phone: sp, RTP: NewRTPPeer(t, ip)}
	p.MediaAddr = p.RTP.Addr()
	t.Cleanup(sp.Close)
	return p
}

// WaitIncoming waits for the next answered call.
func (p *Phone) WaitIncoming(d time.Duration) (*InCall, error) { return p.Phone.WaitIncoming(d) }
