package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ringside/ringside/edge/live"
)

// Event stream limits.
const (
	// sseBuffer is each stream's room on the bus; a browser that falls this far behind loses
	// events (and the page refetches /api/v1/live on the next one anyway).
	sseBuffer = 64
	// sseHeartbeat keeps proxies and the browser from timing the stream out.
	sseHeartbeat = 15 * time.Second
	// sseMaxAge ends a stream after this long; EventSource reconnects by itself. This bounds
	// every stream's life.
	sseMaxAge = time.Hour
)

// StreamEvent is what the event stream sends: a live.Event, with the caller's number masked for
// the token-only wallboard.
func streamEvent(ev live.Event, masked bool) live.Event {
	if masked && ev.Record != nil {
		r := *ev.Record
		r.CallerNumber, r.CallerName = maskCaller(r), ""
		r.Tags.Notes = ""
		ev.Record = &r
	}
	if masked && ev.Call != nil && ev.Call.Arrival != nil {
		c := *ev.Call
		a := *c.Arrival
		a.CallerNumber, a.CallerName = "", ""
		c.Arrival = &a
		ev.Call = &c
	}
	if masked && ev.Call != nil && ev.Call.Tags != nil {
		c := *ev.Call
		c.Tags = nil
		ev.Call = &c
	}
	return ev
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	if _, err := newQuery(r.URL.Query()); err != nil {
		s.failErr(w, r, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		s.fail(w, r, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	masked := who(r).viaToken
	ch, unsubscribe := s.bus.Subscribe(sseBuffer)
	defer unsubscribe()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\n: ringside live events\n\n")
	fl.Flush()
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	maxAge := time.NewTimer(sseMaxAge)
	defer maxAge.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-maxAge.C:
			return
		case <-beat.C:
			if _, err := fmt.Fprintf(w, ": beat\n\n"); err != nil {
				return
			}
		case ev, ok := <-ch:
			if !ok {
				return
			}
			b, err := json.Marshal(streamEvent(ev, masked))
			if err != nil {
				s.log.Error("encode live event", "err", err)
				continue
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, b); err != nil {
				return
			}
		}
		fl.Flush()
	}
}
