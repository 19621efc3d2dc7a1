package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestProblemsFailHealthzAndShowOnThePage: while the appliance reports a failing problem (its call
// records cannot be saved), /healthz answers 503 with it, and the wallboard and the live API show
// every problem; when the problems clear, /healthz says ok again.
func TestProblemsFailHealthzAndShowOnThePage(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	failing := "Call records cannot be saved: new calls are refused"
	h.probs.Store(&[]Problem{{Text: failing, Failing: true}, {Text: "2 call records were set aside", Failing: false}})

	resp, err := http.Get(h.ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || string(b) != failing+"\n" {
		t.Fatalf("healthz with a failing problem: %d %q", resp.StatusCode, b)
	}

	c := h.login()
	code, page := c.get(t, "/wallboard")
	if code != 200 || !strings.Contains(page, failing) || !strings.Contains(page, "2 call records were set aside") {
		t.Fatalf("wallboard (%d) does not show the problems", code)
	}
	code, body := c.get(t, "/api/v1/live")
	var st LiveStatus
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || len(st.Problems) != 2 || !st.Problems[0].Failing {
		t.Fatalf("live status %d: %v %+v", code, err, st.Problems)
	}

	h.probs.Store(&[]Problem{{Text: "2 call records were set aside"}})
	resp, err = http.Get(h.ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz with no failing problem: %d", resp.StatusCode)
	}
}
