package fxo

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestRefusalReason: every way a dial fails maps to a refusal reason, the dial's own context
// ending (the dial timeout) included.
func TestRefusalReason(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		fmt.Errorf("%w: 403 Forbidden", ErrRefused):                                  ReasonRefused,
		fmt.Errorf("%w: INVITE 127.0.0.1:5060: %w", ErrUnreachable, errors.New("x")): ReasonUnreachable,
		fmt.Errorf("%w: ACK: %w", ErrSetup, errors.New("x")):                         ReasonSetupFailed,
		fmt.Errorf("%w: answer SDP: %w", ErrSetup, errors.New("x")):                  ReasonSetupFailed,
		context.DeadlineExceeded:                                                     ReasonUnreachable,
	} {
		if got := refusalReason(err); got != want {
			t.Errorf("%v: %q, want %q", err, got, want)
		}
	}
}
