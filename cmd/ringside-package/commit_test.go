package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestCommitFlagRefusesNonHex(t *testing.T) {
	err := run(context.Background(), []string{"-out", t.TempDir(), "-commit", "main; rm -rf /", "-arch", "amd64"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "want a git commit in hex") {
		t.Fatalf("err = %v, want a -commit refusal", err)
	}
}
