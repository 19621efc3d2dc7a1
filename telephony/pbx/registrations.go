package pbx

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Registration is one binding as it is kept across restarts: the registrar's location service
// (RFC 3261 section 10.3) outlives the process, so a restart does not log every phone out until it
// next registers.
type Registration struct {
	User      string // the account (agent's or line's username)
	Contact   string // the Contact URI the phone registered
	Source    string // host:port the REGISTER came from
	Transport string
	// At is the wall-clock time the binding was granted and Expires the interval granted; on
	// restore the binding lives until At+Expires, and never longer than Expires from the restore.
	At      time.Time
	Expires time.Duration
}

// Registrations keeps bindings across restarts; the appliance's store implements it. Save replaces
// the user's binding.
type Registrations interface {
	SaveRegistration(ctx context.Context, r Registration) error
	DeleteRegistration(ctx context.Context, user string) error
	LoadRegistrations(ctx context.Context) ([]Registration, error)
}

// persistTimeout bounds one save or delete: a REGISTER is answered after its binding is saved, and
// a slow disk must not hold the phone's transaction past its retransmissions.
const persistTimeout = 2 * time.Second

// remainingLife is how long a stored binding has left at now: until At+Expires by the wall clock,
// but never more than Expires (a clock set back, or a binding stamped in the future, must not make
// it live longer than it was granted) nor more than maxExpires. ok is false once it has lapsed.
func remainingLife(r Registration, now time.Time, maxExpires time.Duration) (left time.Duration, ok bool) {
	if r.Expires <= 0 {
		return 0, false
	}
	left = r.At.Add(r.Expires).Sub(now)
	if left <= 0 {
		return 0, false
	}
	return min(left, r.Expires, maxExpires), true
}

// restoreRegistrations loads the stored bindings before the listeners open: each binding of a
// configured account that has not lapsed is live again for its remaining life, and its agent is
// logged in. Lapsed bindings, and those of accounts no longer configured, are deleted.
func (s *Server) restoreRegistrations(ctx context.Context) {
	if s.cfg.Registrations == nil {
		return
	}
	regs, err := s.cfg.Registrations.LoadRegistrations(ctx)
	if err != nil {
		s.log.Warn("could not restore registrations; phones are logged out until they register", "err", err)
		return
	}
	now := s.clock.Now()
	restored := 0
	for _, r := range regs {
		_, known := s.password(r.User)
		left, live := remainingLife(r, now, s.cfg.MaxExpires)
		var contact sip.Uri
		if known && live {
			if err := sip.ParseUri(r.Contact, &contact); err != nil {
				s.log.Warn("stored registration has a bad contact; dropped", "user", sanitizeNumber(r.User), "err", err)
				live = false
			}
		}
		if !known || !live {
			if err := s.cfg.Registrations.DeleteRegistration(ctx, r.User); err != nil {
				s.log.Warn("could not delete a lapsed registration", "user", sanitizeNumber(r.User), "err", err)
			}
			continue
		}
		s.reg.set(r.User, binding{contact: contact, source: r.Source, transport: r.Transport, expires: now.Add(left)})
		if a, ok := s.agents[r.User]; ok {
			s.engine.SetLoggedIn(a.ID, true)
		}
		restored++
	}
	if restored > 0 {
		s.log.Info("registrations restored", "bindings", restored, "dropped", len(regs)-restored)
	}
}

// saveRegistration keeps a binding just granted for expires; a failure is logged, and the binding
// still lives in memory.
func (s *Server) saveRegistration(user string, bd binding, at time.Time, expires time.Duration) {
	if s.cfg.Registrations == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), persistTimeout)
	defer cancel()
	r := Registration{User: user, Contact: bd.contact.String(), Source: bd.source, Transport: bd.transport, At: at, Expires: expires}
	if err := s.cfg.Registrations.SaveRegistration(ctx, r); err != nil {
		s.log.Warn("could not keep a registration across restarts", "user", sanitizeNumber(user), "err", err)
	}
}

// forgetRegistration deletes user's stored binding (the phone unregistered).
func (s *Server) forgetRegistration(user string) {
	if s.cfg.Registrations == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), persistTimeout)
	defer cancel()
	if err := s.cfg.Registrations.DeleteRegistration(ctx, user); err != nil {
		s.log.Warn("could not delete a stored registration", "user", sanitizeNumber(user), "err", err)
	}
}
