package pbx

import (
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// binding is where a registered user can be reached (RFC 3261 section 10).
type binding struct {
	contact   sip.Uri
	source    string // host:port the REGISTER came from
	transport string
	expires   time.Time
	callID    string
	cseq      uint32
}

// registrar holds one binding per user (the phone's latest registration). Expiry is checked by
// sweep, which the server calls periodically, and on lookup.
type registrar struct {
	clock Clock
	mu    sync.Mutex
	b     map[string]binding
	seen  map[string]bool                    // users that registered at least once since start
	from  map[netip.Addr]map[string]struct{} // users by the address their binding came from
}

func newRegistrar(clock Clock) *registrar {
	return &registrar{clock: clock, b: map[string]binding{}, seen: map[string]bool{}, from: map[netip.Addr]map[string]struct{}{}}
}

// sourceAddr is the address a binding's REGISTER came from.
func (bd binding) sourceAddr() netip.Addr {
	ap, err := netip.ParseAddrPort(bd.source)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// index files user under bd's source address (add) or takes it out; r.mu is held.
func (r *registrar) index(user string, bd binding, add bool) {
	a := bd.sourceAddr()
	users := r.from[a]
	if add {
		if users == nil {
			users = map[string]struct{}{}
			r.from[a] = users
		}
		users[user] = struct{}{}
		return
	}
	delete(users, user)
	if len(users) == 0 {
		delete(r.from, a)
	}
}

// registeredFrom reports whether a live binding was registered from a.
func (r *registrar) registeredFrom(a netip.Addr) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	for user := range r.from[a] {
		if !now.After(r.b[user].expires) {
			return true
		}
	}
	return false
}

// lost reports whether user registered at some point since start and has no live binding now.
func (r *registrar) lost(user string) bool {
	r.mu.Lock()
	seen := r.seen[user]
	r.mu.Unlock()
	_, live := r.get(user)
	return seen && !live
}

// set stores a binding; it reports whether the user was not registered before.
func (r *registrar) set(user string, bd binding) (fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.b[user]
	fresh = !ok || r.clock.Now().After(old.expires)
	if ok {
		r.index(user, old, false)
	}
	r.index(user, bd, true)
	r.b[user] = bd
	r.seen[user] = true
	return fresh
}

// remove deletes user's binding; it reports whether there was a live one.
func (r *registrar) remove(user string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.b[user]
	if ok {
		r.index(user, old, false)
	}
	delete(r.b, user)
	return ok && !r.clock.Now().After(old.expires)
}

func (r *registrar) get(user string) (binding, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	bd, ok := r.b[user]
	if !ok || r.clock.Now().After(bd.expires) {
		return binding{}, false
	}
	return bd, true
}

// sweep removes expired bindings and returns their users.
func (r *registrar) sweep() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	var gone []string
	for u, bd := range r.b {
		if now.After(bd.expires) {
			r.index(u, bd, false)
			delete(r.b, u)
			gone = append(gone, u)
		}
	}
	return gone
}
