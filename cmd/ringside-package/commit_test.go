package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPackagedBinaryPrintsCommit: the commit given to the packager is stamped into the binary
// (-ldflags -X), so `ringside version` names it although the build has no VCS stamp (-trimpath,
// and CI's -buildvcs=false). One architecture, built as .ci/build-packages builds it (through run).
func TestPackagedBinaryPrintsCommit(t *testing.T) {
	if runtimeArch() != "amd64" {
		t.Skip("runs the amd64 binary natively")
	}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
	defer cancel()
	var stdout bytes.Buffer
	if err := run(ctx, []string{"-src", "../..", "-out", dir, "-version", "v1.2.3", "-commit", commit, "-arch", "amd64"}, &stdout); err != nil {
		t.Fatal(err)
	}
	out, err := command(t, time.Minute, filepath.Join(dir, "linux-amd64", "ringside"), "version")
	if err != nil || !strings.HasPrefix(out, "ringside 1.2.3 (commit "+commit[:12]+", ") {
		t.Fatalf("`ringside version` printed %q, %v; want version 1.2.3 and commit %s", out, err, commit[:12])
	}
}

func TestCommitFlagRefusesNonHex(t *testing.T) {
	err := run(context.Background(), []string{"-out", t.TempDir(), "-commit", "main; rm -rf /", "-arch", "amd64"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "want a git commit in hex") {
		t.Fatalf("err = %v, want a -commit refusal", err)
	}
}
