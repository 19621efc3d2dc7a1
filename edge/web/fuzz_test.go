package web

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseTags: any body either parses into tags within their bounds or fails with ErrBadParam.
func FuzzParseTags(f *testing.F) {
	f.Add(`{"lead":true,"converted":true,"revenue":"125.50","notes":"booked"}`)
	f.Add(`{"revenue_cents":100}`)
	f.Add(`{"lead":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		tags, err := parseTags(strings.NewReader(body))
		if err != nil {
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("error without ErrBadParam: %v", err)
			}
			return
		}
		if tags.RevenueCents < 0 || len([]rune(tags.Notes)) > maxNotes {
			t.Fatalf("out-of-bounds tags accepted: %+v", tags)
		}
	})
}

// FuzzCallQuery: any query string either gives a bounded, valid store query or a 400 message.
func FuzzCallQuery(f *testing.F) {
	f.Add("period=last7&outcome=abandoned,busy&sort=wait&order=asc&limit=20&offset=40")
	f.Add("from=2026-03-01&to=2026-03-31&caller=%2B12125550100&source=paid_search")
	f.Add("outcome=blocked&period=year")
	f.Add("caller=15551240001&tracking_number=(212)%20555-0100")
	loc, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 3, 16, 14, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := newQuery(v, callParams...)
		if err != nil {
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("error without ErrBadParam: %v", err)
			}
			return
		}
		cq, err := q.callQuery(loc, "US", now, true)
		if err != nil {
			if !errors.Is(err, ErrBadParam) {
				t.Fatalf("error without ErrBadParam: %v", err)
			}
			return
		}
		if !cq.From.Before(cq.To) || cq.Limit < 1 || cq.Limit > maxLimit || cq.Offset < 0 || cq.Offset > maxOffset {
			t.Fatalf("invalid query accepted: %+v", cq)
		}
		if cq.Caller != "" && !validCaller(cq.Caller) || cq.Tracking != "" && (cq.Tracking[0] != '+' || !validCaller(cq.Tracking)) {
			t.Fatalf("number not normalised: caller %q, tracking number %q", cq.Caller, cq.Tracking)
		}
		for _, o := range cq.Outcomes {
			if !o.Valid() {
				t.Fatalf("invalid outcome %q accepted", o)
			}
		}
	})
}

// FuzzCSVCell: a cell never starts a spreadsheet formula.
func FuzzCSVCell(f *testing.F) {
	f.Add("+12125550100")
	f.Add("=HYPERLINK(\"x\")")
	f.Add("-1+1")
	f.Fuzz(func(t *testing.T, v string) {
		c := csvCell(v)
		if c == "" {
			return
		}
		switch c[0] {
		case '=', '@', '\t', '\r':
			t.Fatalf("cell %q starts a formula", c)
		case '+', '-':
			if len(c) == 1 || c[1] < '0' || c[1] > '9' {
				t.Fatalf("cell %q starts a formula", c)
			}
		}
	})
}
