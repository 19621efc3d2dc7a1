package recorder

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const crashEnv = "RINGSIDE_RECORDER_CRASH_ROOT"

// crashCalls are the call ids the child records.
func crashCalls() []string {
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprintf("0192f6a4-7b1c-7d2e-8f30-%012x", i+1)
	}
	return ids
}

// TestCrashChild is the child process of TestKill9Repair: it records ten calls in real time and
// prints the number of 20 ms rounds it has written, until it is killed (or 60 s pass).
func TestCrashChild(t *testing.T) {
	root := os.Getenv(crashEnv)
	if root == "" {
		return // only runs as the child
	}
	var ws []*Writer
	for _, id := range crashCalls() {
		w, err := Start(Layout{Root: root}, id, epoch, WriterConfig{}, testLogger(t), realClock{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		ws = append(ws, w)
	}
	payload := make([]byte, 160)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var first time.Time
	for round := 0; round < 3000; round++ {
		<-tick.C
		now := time.Now()
		if round == 0 {
			first = now
		}
		for leg := Caller; leg <= Agent; leg++ {
			for k := range payload {
				payload[k] = audioByte(leg, round, k)
			}
			for _, w := range ws {
				w.Write(leg, uint32(round*160), uint16(round), now, payload)
			}
		}
		// The file's timeline follows arrival time: a slow child (race detector, busy machine) that
		// misses ticks has a longer call than rounds*20 ms. Report both.
		fmt.Println("sent", round+1, int64(now.Sub(first)))
	}
	os.Exit(3)
}

// TestKill9Repair kills a process recording ten calls, then repairs the partial files: each must be
// a WAV that soxi reads, holding all but at most the last second of what was sent.
func TestKill9Repair(t *testing.T) {
	soxi := needTool(t, "soxi")
	root := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	rounds := 0
	var elapsed time.Duration
	parse := func(line string) bool {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "sent" {
			return false
		}
		rounds, _ = strconv.Atoi(f[1])
		ns, _ := strconv.ParseInt(f[2], 10, 64)
		elapsed = time.Duration(ns)
		return true
	}
	deadline := time.Now().Add(60 * time.Second)
	for rounds < 175 && time.Now().Before(deadline) && sc.Scan() { // 3.5 s of audio
		if !parse(sc.Text()) {
			t.Fatalf("child said %q", sc.Text())
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	// Lines the child wrote before it died are still in the pipe: the last one is exact.
	for sc.Scan() {
		parse(sc.Text())
	}
	cmd.Wait()
	if rounds < 175 {
		t.Fatalf("child wrote only %d rounds", rounds)
	}
	// The call's timeline so far: from the first packet to the end of the last one reported.
	sent := elapsed + 20*time.Millisecond

	reps, err := Repair(root, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != len(crashCalls()) {
		t.Fatalf("repaired %d files, want %d: %+v", len(reps), len(crashCalls()), reps)
	}
	seen := map[string]bool{}
	for _, r := range reps {
		if r.Err != nil || r.Path == "" {
			t.Fatalf("%s: %v", r.CallID, r.Err)
		}
		seen[r.CallID] = true
		o, err := exec.Command(soxi, "-D", r.Path).CombinedOutput()
		if err != nil {
			t.Fatalf("soxi %s: %v %s", r.Path, err, o)
		}
		secs, err := strconv.ParseFloat(strings.TrimSpace(string(o)), 64)
		if err != nil {
			t.Fatalf("soxi said %q", o)
		}
		got := time.Duration(secs * float64(time.Second))
		// At least everything but the last second; at most what the child could have sent after
		// its last report (the kill is not instant).
		if got < sent-time.Second || got > sent+500*time.Millisecond {
			t.Fatalf("%s holds %v of audio, %v was sent", r.CallID, got, sent)
		}
		if got != time.Duration(r.Frames)*(time.Second/sampleRate) {
			t.Fatalf("soxi says %v, Repair reported %d frames", got, r.Frames)
		}
		o, _ = exec.Command(soxi, "-c", r.Path).CombinedOutput()
		if strings.TrimSpace(string(o)) != "2" {
			t.Fatalf("soxi channels %q", o)
		}
		_, data := readWAV(t, r.Path)
		want := make([]byte, 0, 2*sampleRate)
		for i := 0; i < 10; i++ { // the first 200 ms, placed by timestamp even on a slow machine
			for k := 0; k < 160; k++ {
				want = append(want, audioByte(Caller, i, k), audioByte(Agent, i, k))
			}
		}
		if !bytes.Equal(data[:len(want)], want) {
			t.Fatalf("%s: first 200 ms differ: %s", r.CallID, firstDiff(data[:len(want)], want))
		}
	}
	for _, id := range crashCalls() {
		if !seen[id] {
			t.Fatalf("call %s not reported", id)
		}
	}
	// Nothing is left in progress, and a second pass finds nothing.
	if again, err := Repair(root, testLogger(t)); err != nil || len(again) != 0 {
		t.Fatalf("second repair: %v %+v", err, again)
	}
	parts, _ := filepath.Glob(filepath.Join(root, "*", "*", "*", "*"+PartSuffix))
	if len(parts) != 0 {
		t.Fatalf("left in progress: %v", parts)
	}
}
