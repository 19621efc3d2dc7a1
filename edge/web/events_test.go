package web

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// readEvent reads the stream until a data line containing want, or fails after the deadline.
func readEvent(t *testing.T, c *http.Client, url, want string, post func()) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Scan() // the stream has started: the subscription exists
	post()
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, want) {
			return line
		}
	}
	t.Fatalf("no event with %q: %v", want, sc.Err())
	return ""
}

func TestEventStream(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	arrive := func(caller string) func() {
		return func() {
			h.tr.Post(call.Event{CallID: call.NewID(), Kind: call.KindArrived, At: time.Now(), Arrival: &call.Arrival{
				Line: "trunk", TrackingNumber: "+12125550100", CallerNumber: caller, CallerName: "Jane Roe"}})
		}
	}
	tv := &http.Client{}
	line := readEvent(t, tv, h.ts.URL+"/api/v1/events?token="+testToken, `"kind":"arrived"`, arrive("+12125550555"))
	if strings.Contains(line, "12125550555") || strings.Contains(line, "Jane Roe") || !strings.Contains(line, "•••555") {
		t.Errorf("token stream: caller not masked: %s", line)
	}
	c := h.login()
	line = readEvent(t, c.Client, h.ts.URL+"/api/v1/events", `"kind":"arrived"`, arrive("+12125550556"))
	if !strings.Contains(line, "+12125550556") {
		t.Errorf("staff stream lacks the caller: %s", line)
	}
}
