package appliance

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/hw"
	"github.com/ringside/ringside/telephony/media"
)

// Check finds what New would refuse in a loaded config beyond what config.Load validates: WAV
// files the SIP side cannot play, listen addresses the network stack cannot read, TLS files that
// do not load, analog lines this build cannot drive or that have no UDP listener to call, and an
// uplink the publisher refuses. It reads files but opens no store and binds no port, so
// `ringside check-config` runs it as well as New: the two cannot disagree. Each check uses the
// function the running part uses. The error, when not nil, is config.Problems, each at the line
// of its key.
func Check(cfg *config.Config) error {
	var errs []error
	bad := func(key string, err error) { errs = append(errs, &config.KeyError{Key: key, Err: err}) }

	// The SIP side loads these with media.LoadWAV when it starts (pbx.New); the site-wide
	// announcement is checked even while recording is off, since turning it on must not break a start.
	wav := func(key, path string) {
		if path == "" {
			return
		}
		if _, err := media.LoadWAV(path); err != nil {
			bad(key, err)
		}
	}
	for i, q := range cfg.Queues {
		k := fmt.Sprintf("queues[%d]", i)
		wav(k+".hold_music", q.HoldMusic)
		wav(k+".greeting", q.Greeting)
		wav(k+".announcement", q.Announcement)
		wav(k+".closed_message", q.ClosedMessage)
	}
	wav("recording.announcement", cfg.Recording.Announcement)

	// net.Listen resolves its address before binding, as these do: a port out of range or a host
	// that does not resolve fails here as it would there.
	tlsListener := false
	for i, l := range cfg.SIP.Listen {
		proto, addr, _ := strings.Cut(l, ":")
		var err error
		if proto == "udp" {
			_, err = net.ResolveUDPAddr("udp", addr)
		} else {
			_, err = net.ResolveTCPAddr("tcp", addr)
		}
		if err != nil {
			bad(fmt.Sprintf("sip.listen[%d]", i), err)
		}
		tlsListener = tlsListener || proto == "tls"
	}
	if tlsListener {
		if _, err := tls.LoadX509KeyPair(cfg.SIP.TLSCert, cfg.SIP.TLSKey); err != nil {
			bad("sip.tls_cert", err)
		}
	}
	if _, err := net.ResolveTCPAddr("tcp", cfg.Web.Listen); err != nil {
		bad("web.listen", err)
	}

	analog := false
	for i, l := range cfg.Lines {
		if l.Kind != "fxo" || l.FXO == nil {
			continue
		}
		analog = true
		if !l.FXO.Simulated {
			if err := hw.FXOSupported(); err != nil {
				bad(fmt.Sprintf("lines[%d].fxo", i), err)
			}
		}
	}
	if _, ok := fxoTarget(cfg); analog && !ok {
		bad("sip.listen", errors.New("analog lines call the appliance over UDP: add a udp listener with an IP address, such as udp:0.0.0.0:5060"))
	}

	if cfg.Uplink.Enabled {
		if _, err := newUplinkPart(cfg, outboxAdapter{}, slog.New(slog.DiscardHandler), ""); err != nil {
			bad("uplink", err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return cfg.Locate(errs)
}
