// Package siptest holds test peers for the telephony packages: a small SIP phone built on sipgo
// (registers with digest auth, places calls, answers after a delay, holds by re-INVITE), an RTP
// sender/receiver for byte-exact audio checks (RFC 3550 packets of 20 ms G.711), and helpers that run
// the real sipp and baresip binaries. It is used by tests only.
//
// A test that needs a tool fails when the tool is missing and CI=true, and skips otherwise.
package siptest
