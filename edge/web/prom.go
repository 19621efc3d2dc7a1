package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ringside/ringside/edge/call"
)

// promState is the server's own Prometheus registry: call counters fed from the live bus, live
// gauges read at scrape time, and the Go and process collectors.
type promState struct {
	reg   *prometheus.Registry
	calls *prometheus.CounterVec

	queueWaiting *prometheus.Desc
	queueLongest *prometheus.Desc
	callsLive    *prometheus.Desc
	agents       *prometheus.Desc

	s *Server
}

func newProm(s *Server) *promState {
	p := &promState{
		reg: prometheus.NewRegistry(),
		s:   s,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringside_calls_total",
			Help: "Call attempts finished since the process started, by outcome and marketing source.",
		}, []string{"outcome", "source"}),
		queueWaiting: prometheus.NewDesc("ringside_queue_waiting", "Callers waiting in the queue now.", []string{"queue"}, nil),
		queueLongest: prometheus.NewDesc("ringside_queue_longest_wait_seconds", "Longest current wait in the queue.", []string{"queue"}, nil),
		callsLive:    prometheus.NewDesc("ringside_calls_live", "Calls in progress, by state (waiting, connected, other).", []string{"state"}, nil),
		agents:       prometheus.NewDesc("ringside_agents", "Agents by state (offline, idle, ringing, on_call, wrap_up).", []string{"state"}, nil),
	}
	// Every outcome is present from the start, so rate() works on the first call.
	for _, o := range call.Outcomes {
		p.calls.WithLabelValues(string(o), "")
	}
	p.reg.MustRegister(p.calls, p, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

func (p *promState) callEnded(r *call.Record) {
	p.calls.WithLabelValues(string(r.Outcome), r.Attribution.Source).Inc()
}

// Describe implements prometheus.Collector.
func (p *promState) Describe(ch chan<- *prometheus.Desc) {
	ch <- p.queueWaiting
	ch <- p.queueLongest
	ch <- p.callsLive
	ch <- p.agents
}

// Collect implements prometheus.Collector: the live gauges, read now.
func (p *promState) Collect(ch chan<- prometheus.Metric) {
	s := p.s
	now := s.now()
	waiting := map[string]int{}
	longest := map[string]float64{}
	for _, q := range s.cfg.Queues {
		waiting[q.Name], longest[q.Name] = 0, 0
	}
	var nWait, nConn, nOther int
	for _, r := range s.track.Live() {
		switch {
		case r.Finished():
		case !r.Connected.IsZero():
			nConn++
		case r.Queue != "":
			nWait++
			waiting[r.Queue]++
			longest[r.Queue] = max(longest[r.Queue], now.Sub(r.Arrived).Seconds())
		default:
			nOther++
		}
	}
	for q, n := range waiting {
		ch <- prometheus.MustNewConstMetric(p.queueWaiting, prometheus.GaugeValue, float64(n), q)
		ch <- prometheus.MustNewConstMetric(p.queueLongest, prometheus.GaugeValue, longest[q], q)
	}
	ch <- prometheus.MustNewConstMetric(p.callsLive, prometheus.GaugeValue, float64(nWait), "waiting")
	ch <- prometheus.MustNewConstMetric(p.callsLive, prometheus.GaugeValue, float64(nConn), "connected")
	ch <- prometheus.MustNewConstMetric(p.callsLive, prometheus.GaugeValue, float64(nOther), "other")
	states := map[string]int{"offline": 0, "idle": 0, "ringing": 0, "on_call": 0, "wrap_up": 0}
	for _, a := range s.agentStates() {
		states[a.State]++
	}
	for st, n := range states {
		ch <- prometheus.MustNewConstMetric(p.agents, prometheus.GaugeValue, float64(n), st)
	}
}

func (p *promState) handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{ErrorLog: nil, MaxRequestsInFlight: 2})
}
