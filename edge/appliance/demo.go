package appliance

import (
	"context"
	_ "embed"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/telephony/simulate"
)

// The demo compresses an office day into twenty minutes, with enough calls that the small demo
// queues sometimes fill (some busy calls) and agents are rarely idle for long.
const (
	demoDayLength   = 20 * time.Minute
	demoCallsPerDay = 100
)

//go:embed demo.yaml
var demoYAML []byte

// DemoConfig returns the embedded demo configuration with its state kept in stateDir, SIP on
// sipAddr (UDP and TCP) and the web page on webAddr.
func DemoConfig(stateDir, sipAddr, webAddr string) (*config.Config, error) {
	cfg, err := config.Parse(demoYAML, "demo.yaml (embedded)", ".")
	if err != nil {
		return nil, fmt.Errorf("embedded demo config: %w", err)
	}
	if _, err := netip.ParseAddrPort(sipAddr); err != nil {
		return nil, fmt.Errorf("--sip: want ip:port, got %q", sipAddr)
	}
	cfg.StateDir = stateDir
	cfg.SIP.Listen = []string{"udp:" + sipAddr, "tcp:" + sipAddr}
	cfg.Web.Listen = webAddr
	return cfg, nil
}

// Simulate places the demo's traffic (telephony/simulate) at the appliance's first UDP listener
// once the SIP side is ready, until ctx ends.
func (a *Appliance) Simulate(ctx context.Context) error {
	select {
	case <-a.PBX.Ready():
	case <-ctx.Done():
		return nil
	}
	var target netip.AddrPort
	for _, l := range a.cfg.SIP.Listen {
		if proto, addr, _ := strings.Cut(l, ":"); proto == "udp" {
			ap, err := netip.ParseAddrPort(addr)
			if err != nil {
				return fmt.Errorf("demo traffic: listener %q: %w", l, err)
			}
			target = ap
			break
		}
	}
	if !target.IsValid() {
		return fmt.Errorf("demo traffic: no UDP listener")
	}
	sc := simulate.Config{Target: target.String(), CallerIP: target.Addr().String(), AgentIP: target.Addr().String(),
		DayLength: demoDayLength, CallsPerDay: demoCallsPerDay, Seed: uint64(a.clock.Now().UnixNano()),
		NoAnswer: 0.15, Hold: 0.25, Abandon: 0.2, MaxConcurrent: 12, StartHour: 9}
	for _, n := range a.cfg.TrackingNumbers {
		sc.Numbers = append(sc.Numbers, n.Number)
	}
	for _, ag := range a.cfg.Agents {
		sc.Agents = append(sc.Agents, simulate.Agent{User: ag.Username, Pass: ag.Password})
	}
	log := a.log.With("part", "demo-traffic")
	for ctx.Err() == nil { // one simulated day after another
		st, err := simulate.Run(ctx, sc, log)
		if err != nil {
			return err
		}
		log.Info("simulated day over", "placed", st.Placed.Load(), "refused", st.Refused.Load(), "holds", st.Holds.Load())
		sc.Seed++
	}
	return nil
}
