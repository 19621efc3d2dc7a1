// Package siptest holds test peers for the telephony packages: telephony/softphone wrapped with its
// own RTP peer and test cleanup, an RTP sender/receiver for byte-exact audio checks (RFC 3550
// packets of 20 ms G.711), and helpers that run the real sipp binary from scenario templates. It is
// used by tests only.
//
// NeedTool is the one check the tests across the tree use for an external tool (sipp, sox,
// chromium, dpkg-deb, ...): missing, the test fails when CI=true and skips otherwise. The leaves
// that may not import telephony (recorder, systemd) keep their own copy.
package siptest
