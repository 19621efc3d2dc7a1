package simulate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/ringside/ringside/telephony/g711"
	"github.com/ringside/ringside/telephony/sdp"
	"github.com/ringside/ringside/telephony/softphone"
)

// Agent is one simulated phone's credentials.
type Agent struct {
	User, Pass string
}

// Config drives a simulation.
type Config struct {
	Target      string   // the appliance's SIP address, host:port (UDP)
	Numbers     []string // tracking numbers callers dial
	CallerIP    string   // loopback address callers use (admitted as a trunk)
	AgentIP     string   // loopback address agent phones use
	Agents      []Agent
	DayLength   time.Duration // a 24 h day lasts this long
	CallsPerDay int
	Seed        uint64
	// Behaviour, as probabilities (0..1).
	NoAnswer float64 // an agent lets a call ring out
	Hold     float64 // an agent puts the caller on hold for a while
	Abandon  float64 // a caller gives up after a short wait
	// MaxConcurrent bounds simultaneous simulated callers.
	MaxConcurrent int
	// StartHour is the simulated hour of day the run starts at (0-23), so a demo can open at
	// office hours instead of at midnight.
	StartHour int
	// Callers is how many distinct caller numbers the simulated callers use (some call again, so
	// the repeat-caller figures have something to count); 0 means 200.
	Callers int
}

// Stats counts what the simulation did.
type Stats struct {
	Placed, Queued, Refused, EarlyHangups, Holds atomic.Int64
}

// hourWeight is the relative call volume per hour of an office day.
var hourWeight = [24]float64{0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 2, 3, 3.2, 3, 2, 2.2, 2.8, 2.6, 2.2, 1.4, 0.8, 0.5, 0.3, 0.2, 0.15, 0.1}

// Run simulates until ctx ends or one day has passed. It returns the stats.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (*Stats, error) {
	if len(cfg.Numbers) == 0 || len(cfg.Agents) == 0 || cfg.DayLength <= 0 || cfg.CallsPerDay <= 0 {
		return nil, errors.New("simulate: need numbers, agents, day length and calls per day")
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 50
	}
	callers := cfg.Callers
	if callers <= 0 {
		callers = 200
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	var rngMu sync.Mutex
	rnd := func() float64 { rngMu.Lock(); defer rngMu.Unlock(); return rng.Float64() }
	st := &Stats{}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var closers []func()
	// Stop every simulated call first, then close the phones and sockets they use.
	defer func() {
		cancel()
		wg.Wait()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()

	// Agents: one phone and one RTP socket each.
	for _, a := range cfg.Agents {
		ph, err := softphone.New(cfg.AgentIP, a.User, a.Pass, log)
		if err != nil {
			return nil, err
		}
		closers = append(closers, ph.Close)
		rtpConn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(cfg.AgentIP), 0)))
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { rtpConn.Close() })
		ph.MediaAddr = rtpConn.LocalAddr().(*net.UDPAddr).AddrPort()
		ph.AnswerDelay = func() time.Duration {
			if rnd() < cfg.NoAnswer {
				return -1
			}
			return time.Duration(1+rnd()*6) * time.Second
		}
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		code, err := ph.Register(rctx, cfg.Target, 3600)
		rcancel()
		if err != nil || code != 200 {
			return nil, fmt.Errorf("simulate: register %s: %d %v", a.User, code, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case ic := <-ph.Incoming:
					wg.Add(1)
					go func() {
						defer wg.Done()
						agentCall(ctx, ph, ic, rtpConn, rnd, cfg.Hold, st, log)
					}()
				}
			}
		}()
	}

	callerRTP, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(cfg.CallerIP), 0)))
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { callerRTP.Close() })
	wg.Add(1)
	go func() { defer wg.Done(); drain(ctx, callerRTP) }()
	caller, err := softphone.New(cfg.CallerIP, "caller", "", log)
	if err != nil {
		return nil, err
	}
	closers = append(closers, caller.Close)
	caller.MediaAddr = callerRTP.LocalAddr().(*net.UDPAddr).AddrPort()

	sem := make(chan struct{}, cfg.MaxConcurrent)
	start := time.Now()
	scale := float64(24*time.Hour) / float64(cfg.DayLength) // simulated seconds per real second
	var total float64
	for _, w := range hourWeight {
		total += w
	}
	for {
		el := time.Since(start)
		if el >= cfg.DayLength {
			return st, nil
		}
		hour := (cfg.StartHour + int(el.Seconds()*scale/3600)) % 24
		// calls per real second in this hour
		rate := float64(cfg.CallsPerDay) * hourWeight[hour] / total / 3600 * scale
		gap := time.Duration(-math.Log(1-rnd()) / rate * float64(time.Second))
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(min(gap, cfg.DayLength-el)):
		}
		if time.Since(start) >= cfg.DayLength {
			return st, nil
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // at the concurrency bound: this caller does not come
		}
		number := cfg.Numbers[int(rnd()*float64(len(cfg.Numbers)))%len(cfg.Numbers)]
		from := fmt.Sprintf("+1917555%04d", int(rnd()*float64(callers))%callers)
		stay := time.Duration(10+rnd()*50) * time.Second
		if rnd() < cfg.Abandon {
			stay = time.Duration(2+rnd()*8) * time.Second
			st.EarlyHangups.Add(1)
		}
		st.Placed.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			callerCall(ctx, caller, callerRTP, cfg.Target, number, from, stay, st, log)
		}()
	}
}

// callerCall places one call, sends audio while it lasts, and hangs up after stay.
func callerCall(ctx context.Context, ph *softphone.Phone, rtpConn *net.UDPConn, target, number, from string, stay time.Duration, st *Stats, log *slog.Logger) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	// The caller's number travels in P-Asserted-Identity, as carriers send it (RFC 3325).
	pai := sip.NewHeader("P-Asserted-Identity", "<sip:"+from+"@"+target+">")
	oc, err := ph.Call(cctx, "sip:"+number+"@"+target, ph.Offer(sdp.SendRecv, 1), pai)
	cancel()
	if err != nil {
		st.Refused.Add(1)
		log.Debug("simulated call refused", "err", err)
		return
	}
	st.Queued.Add(1)
	mctx, mcancel := context.WithCancel(ctx)
	go sendTone(mctx, rtpConn, oc.Remote.Addr, 440)
	select {
	case <-time.After(stay):
	case <-oc.DC.Context().Done(): // the appliance hung up
	case <-ctx.Done():
	}
	mcancel()
	bctx, bcancel := context.WithTimeout(context.Background(), 3*time.Second)
	_ = oc.DC.Bye(bctx)
	bcancel()
}

// agentCall talks until the caller leaves, sometimes holding for a while.
func agentCall(ctx context.Context, ph *softphone.Phone, ic *softphone.InCall, rtpConn *net.UDPConn, rnd func() float64, hold float64, st *Stats, log *slog.Logger) {
	mctx, mcancel := context.WithCancel(ctx)
	defer mcancel()
	go sendTone(mctx, rtpConn, ic.Remote.Addr, 660)
	done := ic.DS.Context().Done()
	if rnd() < hold {
		select {
		case <-time.After(time.Duration(2+rnd()*5) * time.Second):
		case <-done:
			return
		case <-ctx.Done():
			return
		}
		hctx, hcancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := ph.Hold(hctx, ic, sdp.SendOnly)
		hcancel()
		if err == nil {
			st.Holds.Add(1)
			select {
			case <-time.After(time.Duration(3+rnd()*7) * time.Second):
			case <-done:
				return
			case <-ctx.Done():
				return
			}
			hctx, hcancel := context.WithTimeout(ctx, 3*time.Second)
			_, _ = ph.Hold(hctx, ic, sdp.SendRecv)
			hcancel()
		} else {
			log.Debug("simulated hold failed", "err", err)
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// sendTone sends a mu-law tone in 20 ms RTP packets to dst until ctx ends.
func sendTone(ctx context.Context, c *net.UDPConn, dst netip.AddrPort, hz float64) {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	ssrc := rand.Uint32()
	binary.BigEndian.PutUint32(pkt[8:], ssrc)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		binary.BigEndian.PutUint16(pkt[2:], uint16(n))
		binary.BigEndian.PutUint32(pkt[4:], uint32(n*160))
		for i := range 160 {
			s := 4000 * math.Sin(2*math.Pi*hz*float64(n*160+i)/8000)
			pkt[12+i] = g711.LinearToUlaw(int16(s))
		}
		_, _ = c.WriteToUDPAddrPort(pkt, dst)
	}
}

// drain reads and discards what the appliance sends the callers, until ctx ends.
func drain(ctx context.Context, c *net.UDPConn) {
	buf := make([]byte, 1500)
	for ctx.Err() == nil {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, _ = c.Read(buf)
	}
}
