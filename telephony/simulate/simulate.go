// Package simulate is `ringside demo`'s traffic: real SIP calls with RTP audio over loopback to the
// appliance's tracking numbers, and simulated agents' desk phones that register with digest auth,
// answer after a while, sometimes put the caller on hold, and sometimes do not answer. Some callers
// give up while they wait. Arrivals follow an office day (busy mid-morning and early afternoon)
// compressed into a few minutes, so a demo fills the wallboard and the metrics quickly, with some
// calls blocked when the queue fills.
//
// Every phone is a softphone.Phone: the appliance cannot tell these calls from real ones.
package simulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/softphone"
)

// Agent is one agent's phone credentials.
type Agent struct{ User, Password string }

// Config describes the traffic.
type Config struct {
	Appliance netip.AddrPort // the appliance's SIP UDP address
	Numbers   []string       // tracking numbers to dial (E.164)
	Agents    []Agent
	IP        netip.Addr    // address the simulated phones bind to
	DayLength time.Duration // real time one office day (08:00-18:00) takes
	PeakRate  float64       // calls per real minute at the busiest time of day
	MaxCalls  int           // simulated callers at once, at most
	Seed      uint64
	Log       *slog.Logger
}

// Defaults for the demo.
const (
	DefaultDayLength = 10 * time.Minute
	DefaultPeakRate  = 12.0
	DefaultMaxCalls  = 12
	registerEvery    = 50 * time.Second
	registerExpires  = 120
)

// Run places calls and runs the agents until ctx ends; then it hangs up and returns.
func Run(ctx context.Context, cfg Config) error {
	if cfg.DayLength == 0 {
		cfg.DayLength = DefaultDayLength
	}
	if cfg.PeakRate == 0 {
		cfg.PeakRate = DefaultPeakRate
	}
	if cfg.MaxCalls == 0 {
		cfg.MaxCalls = DefaultMaxCalls
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Numbers) == 0 {
		return errors.New("simulate: no numbers to call")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, a := range cfg.Agents {
		r := rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1))
		ph, err := softphone.New(softphone.Config{IP: cfg.IP, User: a.User, Password: a.Password, Log: cfg.Log,
			AnswerAfter: func() time.Duration {
				if r.Float64() < 0.15 {
					return -1 // away from the desk: let it ring
				}
				return time.Duration(1500+r.IntN(5000)) * time.Millisecond
			}})
		if err != nil {
			return err
		}
		defer ph.Close()
		wg.Go(func() { agentLoop(ctx, cfg, ph, rand.New(rand.NewPCG(cfg.Seed, uint64(i)+100))) })
	}
	callers := make(chan struct{}, cfg.MaxCalls)
	r := rand.New(rand.NewPCG(cfg.Seed, 999))
	// The demo opens at 09:30, so the first calls come within seconds.
	start := time.Now().Add(-time.Duration(0.15 * float64(cfg.DayLength)))
	for n := 0; ; n++ {
		// Poisson arrivals whose rate follows the office day.
		rate := cfg.PeakRate * dayShape(float64(time.Since(start)%cfg.DayLength)/float64(cfg.DayLength))
		gap := time.Duration(r.ExpFloat64() / math.Max(rate, 0.5) * float64(time.Minute))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(gap):
		}
		select {
		case callers <- struct{}{}:
		default:
			continue // enough callers for one small office
		}
		number := cfg.Numbers[r.IntN(len(cfg.Numbers))]
		patience := time.Duration(4+r.IntN(50)) * time.Second
		talk := time.Duration(15+r.IntN(60)) * time.Second
		caller := fmt.Sprintf("+1917555%04d", r.IntN(60)) // a few repeat callers among many
		wg.Go(func() {
			defer func() { <-callers }()
			placeCall(ctx, cfg, n, caller, number, patience, talk)
		})
	}
}

// dayShape is the relative call rate at fraction f of the office day: two peaks, around 10:00 and
// 14:30, a lunch dip, quiet edges.
func dayShape(f float64) float64 {
	h := 8 + 10*f
	bump := func(mu, sigma float64) float64 { return math.Exp(-(h - mu) * (h - mu) / (2 * sigma * sigma)) }
	return 0.15 + 0.85*math.Max(bump(10, 1.2), 0.9*bump(14.5, 1.5))
}

func agentLoop(ctx context.Context, cfg Config, ph *softphone.Phone, r *rand.Rand) {
	register := func() {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if code, err := ph.Register(rctx, cfg.Appliance, registerExpires); err != nil || code != 200 {
			cfg.Log.Warn("simulated agent could not register", "code", code, "err", err)
		}
	}
	register()
	tick := time.NewTicker(registerEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			register()
		case c := <-ph.Incoming():
			talkAsAgent(ctx, c, r)
		}
	}
}

// talkAsAgent holds the caller now and then, and ends some calls from the agent's side.
func talkAsAgent(ctx context.Context, c *softphone.Call, r *rand.Rand) {
	if r.Float64() < 0.25 {
		select {
		case <-time.After(time.Duration(3+r.IntN(6)) * time.Second):
		case <-c.Done():
			return
		case <-ctx.Done():
			return
		}
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Hold(hctx, sdp.SendOnly)
		cancel()
		if err == nil {
			select {
			case <-time.After(time.Duration(3+r.IntN(6)) * time.Second):
			case <-c.Done():
				return
			case <-ctx.Done():
				return
			}
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = c.Hold(hctx, sdp.SendRecv)
			cancel()
		}
	}
	limit := time.Duration(20+r.IntN(90)) * time.Second
	select {
	case <-c.Done():
	case <-ctx.Done():
	case <-time.After(limit):
		hctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = c.Hangup(hctx)
		cancel()
	}
}

// placeCall is one caller: dial, then hang up after patience (or talk, once an agent has had time
// to answer). The appliance answers at once and queues, so the caller cannot tell waiting from
// talking; the outcomes follow from how long each side keeps the call.
func placeCall(ctx context.Context, cfg Config, n int, caller, number string, patience, talk time.Duration) {
	ph, err := softphone.New(softphone.Config{IP: cfg.IP, User: caller, Log: cfg.Log})
	if err != nil {
		cfg.Log.Warn("simulated caller could not start", "err", err)
		return
	}
	defer ph.Close()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := ph.Dial(dctx, fmt.Sprintf("sip:%s@%s", number, cfg.Appliance))
	cancel()
	if err != nil {
		cfg.Log.Debug("simulated call not answered", "call", n, "err", err) // busy, closed: the appliance refused
		return
	}
	keep := patience + talk
	if n%5 == 0 {
		keep = patience // an impatient caller
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
	case <-time.After(keep):
	}
	hctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	_ = c.Hangup(hctx)
	cancel()
}
