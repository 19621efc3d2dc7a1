package pbx

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"

	"github.com/icholy/digest"
)

// nonces issues digest nonces and remembers them until they expire (RFC 2617 section 3.2.1: the
// server chooses nonce lifetime; an expired nonce gets a new challenge with stale=true). nc values are
// tracked per nonce so a replayed Authorization with the same nc is refused.
type nonces struct {
	clock Clock
	ttl   time.Duration

	mu     sync.Mutex
	issued map[string]*nonceState
}

type nonceState struct {
	expires time.Time
	lastNC  int
}

// maxNonces bounds the table against challenge floods (which the guard limits too).
const maxNonces = 50_000

func newNonces(clock Clock, ttl time.Duration) *nonces {
	return &nonces{clock: clock, ttl: ttl, issued: map[string]*nonceState{}}
}

func (n *nonces) issue() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	now := n.clock.Now()
	n.mu.Lock()
	if len(n.issued) >= maxNonces {
		for k, v := range n.issued {
			if now.After(v.expires) {
				delete(n.issued, k)
			}
		}
		if len(n.issued) >= maxNonces { // still full: drop an arbitrary one
			for k := range n.issued {
				delete(n.issued, k)
				break
			}
		}
	}
	n.issued[s] = &nonceState{expires: now.Add(n.ttl)}
	n.mu.Unlock()
	return s
}

// check reports whether nonce is current, and whether it is known but expired (stale).
func (n *nonces) check(nonce string, nc int) (ok, stale bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st, found := n.issued[nonce]
	if !found {
		return false, false
	}
	if n.clock.Now().After(st.expires) {
		delete(n.issued, nonce)
		return false, true
	}
	if nc != 0 {
		if nc <= st.lastNC {
			return false, false // replay
		}
		st.lastNC = nc
	}
	return true, false
}

func (n *nonces) challenge(realm string, stale bool) *digest.Challenge {
	return &digest.Challenge{Realm: realm, Nonce: n.issue(), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
}

// authResult is the outcome of checking an Authorization header.
type authResult int

const (
	authMissing authResult = iota // no credentials: challenge
	authStale                     // expired nonce: challenge with stale=true, not a failure
	authBad                       // wrong password or unknown user: a failure
	authGood
)

// verify checks an Authorization header value for method against the password lookup.
func (n *nonces) verify(header, method, realm string, password func(user string) (string, bool)) (string, authResult) {
	if header == "" {
		return "", authMissing
	}
	cred, err := digest.ParseCredentials(header)
	if err != nil {
		return "", authBad
	}
	ok, stale := n.check(cred.Nonce, cred.Nc)
	if stale {
		return cred.Username, authStale
	}
	if !ok {
		return cred.Username, authMissing // unknown nonce (e.g. after a restart): challenge again
	}
	pw, known := password(cred.Username)
	if !known || cred.Realm != realm {
		return cred.Username, authBad
	}
	chal := &digest.Challenge{Realm: realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque}
	if cred.QOP != "" {
		chal.QOP = []string{cred.QOP}
	}
	want, err := digest.Digest(chal, digest.Options{Method: method, URI: cred.URI, Username: cred.Username,
		Password: pw, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		return cred.Username, authBad
	}
	if subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return cred.Username, authBad
	}
	return cred.Username, authGood
}
