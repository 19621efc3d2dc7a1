package rtpstats

import (
	"math"
	"sync"
	"time"
)

// RFC 3550 appendix A.1 constants.
const (
	maxDropout  = 3000 // a forward jump smaller than this is a gap, not a restart
	maxMisorder = 100  // a backward step up to this is a late packet, not a restart
	seqMod      = 1 << 16
)

// Defaults applied by New when a Config field is zero.
const (
	// DefaultClockRate is the RTP clock of G.711 (RFC 3551 table 4).
	DefaultClockRate = 8000
	// DefaultBaseDelay is the one-way delay assumed before jitter buffering when no measured delay is
	// configured: 20 ms packetisation, about 10 ms of codec and device buffering and 10 ms of LAN or
	// access network.
	DefaultBaseDelay = 40 * time.Millisecond
	// DefaultMinJitterBuffer is the smallest jitter buffer an endpoint uses (one packet of 20 ms).
	DefaultMinJitterBuffer = 20 * time.Millisecond
	// DiscontinuityLimit is the largest transit difference fed to the jitter estimator; larger ones are
	// timestamp jumps, not jitter.
	DiscontinuityLimit = time.Second
)

// G.113 appendix I, table I.3: packet-loss robustness of G.711.
const (
	BplG711NoPLC = 4.3
	BplG711PLC   = 25.1
)

// Config tunes a Leg. The zero value is usable.
type Config struct {
	// ClockRate is the RTP timestamp rate in Hz (default 8000).
	ClockRate uint32
	// NoPLC selects Bpl = 4.3 (receiver without packet loss concealment) instead of 25.1.
	NoPLC bool
	// OneWayDelay, when non-zero, is the mouth-to-ear delay Ta used by the E-model instead of the
	// estimate from jitter.
	OneWayDelay time.Duration
}

// Snapshot is the state of a leg at one moment; it is a plain value, safe to store.
type Snapshot struct {
	SSRC        uint32  // the most recent synchronisation source
	Packets     uint64  // distinct packets received (duplicates excluded)
	Expected    uint64  // RFC 3550 A.3, summed over every source and resynchronisation
	Lost        uint64  // Expected - Packets, never negative
	LossPercent float64 // 100 * Lost / Expected
	Duplicates  uint64  // packets whose sequence number had already been received
	Reordered   uint64  // packets that arrived after a later-numbered one
	Discarded   uint64  // packets dropped by the A.1 validity check (large jumps awaiting resync)
	Restarts    uint64  // SSRC changes and sequence resynchronisations
	// JitterUnits is the RFC 3550 interarrival jitter in timestamp units; Jitter is the same in time.
	JitterUnits float64
	Jitter      time.Duration
	MaxJitter   time.Duration
	// Delay is the one-way delay Ta the E-model was given.
	Delay time.Duration
	// R is the E-model transmission rating and MOS the estimated conversational quality (1..4.5);
	// both are 0 while no packet has been received.
	R   float64
	MOS float64
}

// Leg accumulates the receive statistics of one RTP stream direction.
type Leg struct {
	cfg Config
	bpl float64

	mu sync.Mutex
	// current source (RFC 3550 A.1 names)
	started  bool
	ssrc     uint32
	maxSeq   uint16
	cycles   uint32 // count of sequence wraps, shifted left by 16
	baseSeq  uint32
	badSeq   uint32
	received uint64 // distinct packets of the current source
	seen     [4]uint64
	// totals of earlier sources
	prevExpected uint64
	prevReceived uint64

	dups, reordered, discarded, restarts uint64

	// jitter (A.8)
	haveTransit bool
	epoch       time.Time
	lastArr     float64 // arrival of the previous timed packet, timestamp units since epoch
	lastTS      uint32
	jitter      float64
	maxJitter   float64
}

// New returns an empty Leg.
func New(cfg Config) *Leg {
	if cfg.ClockRate == 0 {
		cfg.ClockRate = DefaultClockRate
	}
	bpl := BplG711PLC
	if cfg.NoPLC {
		bpl = BplG711NoPLC
	}
	return &Leg{cfg: cfg, bpl: bpl, badSeq: seqMod + 1}
}

// Observe records one received packet: its SSRC, sequence number and timestamp from the RTP header,
// and the time it arrived (monotonic readings preferred). It does not allocate.
func (l *Leg) Observe(ssrc uint32, seq uint16, ts uint32, arrival time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.observe(ssrc, seq, ts, arrival, true)
}

// ObserveUntimed records a packet of the stream whose timestamp does not follow the audio clock
// packet by packet — an RFC 4733 telephone-event (its timestamp is the event's start) or comfort
// noise — so it counts for loss, duplicates and reordering but not for jitter.
func (l *Leg) ObserveUntimed(ssrc uint32, seq uint16) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.observe(ssrc, seq, 0, time.Time{}, false)
}

func (l *Leg) observe(ssrc uint32, seq uint16, ts uint32, arrival time.Time, timed bool) {
	if !l.started || ssrc != l.ssrc {
		if l.started {
			l.restarts++
		}
		l.foldSource()
		l.ssrc = ssrc
		l.initSeq(seq)
		l.haveTransit = false
		l.received = 1
		l.timing(timed, ts, arrival)
		return
	}
	udelta := seq - l.maxSeq
	switch {
	case udelta == 0:
		l.dups++
		return
	case udelta < maxDropout:
		// In order, with a permissible gap (RFC 3550 A.1).
		if seq < l.maxSeq {
			l.cycles += seqMod
		}
		l.advance(seq)
		l.maxSeq = seq
	case udelta <= seqMod-maxMisorder:
		// A very large jump: accept only if the next packet follows it (A.1 resync).
		if uint32(seq) == l.badSeq {
			l.restarts++
			l.foldSource()
			l.initSeq(seq)
			l.haveTransit = false
			l.received = 1
			l.timing(timed, ts, arrival)
			return
		}
		l.badSeq = (uint32(seq) + 1) & (seqMod - 1)
		l.discarded++
		return
	default:
		// Behind the highest sequence number: a duplicate or a late packet.
		ext, ok := l.extended(seq)
		if !ok || ext < l.baseSeq {
			l.discarded++
			return
		}
		if l.test(ext) {
			l.dups++
			return
		}
		l.mark(ext)
		l.reordered++
	}
	l.received++
	l.timing(timed, ts, arrival)
}

func (l *Leg) timing(timed bool, ts uint32, arrival time.Time) {
	if timed {
		l.jitterUpdate(ts, arrival)
	}
}

// extended returns the extended sequence number of a packet at most maxMisorder behind maxSeq;
// ok is false for a packet from before the first cycle.
func (l *Leg) extended(seq uint16) (ext uint32, ok bool) {
	c := l.cycles
	if seq > l.maxSeq {
		if c < seqMod {
			return 0, false
		}
		c -= seqMod // it belongs to the previous cycle
	}
	return c | uint32(seq), true
}

func (l *Leg) initSeq(seq uint16) {
	l.started = true
	l.baseSeq = uint32(seq)
	l.maxSeq = seq
	l.cycles = 0
	l.badSeq = seqMod + 1
	l.seen = [4]uint64{}
	l.mark(uint32(seq))
}

// foldSource adds the current source's figures to the totals before a restart.
func (l *Leg) foldSource() {
	if !l.started {
		return
	}
	l.prevExpected += l.expected()
	l.prevReceived += l.received
	l.received = 0
}

func (l *Leg) expected() uint64 {
	ext := uint64(l.cycles) | uint64(l.maxSeq)
	return ext - uint64(l.baseSeq) + 1
}

// The seen bitmap remembers the last 256 extended sequence numbers, enough for maxMisorder.
func (l *Leg) mark(ext uint32)      { l.seen[(ext>>6)&3] |= 1 << (ext & 63) }
func (l *Leg) test(ext uint32) bool { return l.seen[(ext>>6)&3]&(1<<(ext&63)) != 0 }

// advance clears the bitmap for the sequence numbers skipped on the way to seq, then marks seq.
func (l *Leg) advance(seq uint16) {
	oldExt := uint32(l.cycles) | uint32(l.maxSeq) // cycles already bumped if seq wrapped
	newExt := l.cycles | uint32(seq)
	if seq < l.maxSeq {
		oldExt = (l.cycles - seqMod) | uint32(l.maxSeq)
	}
	if newExt-oldExt >= 256 {
		l.seen = [4]uint64{}
	} else {
		for e := oldExt + 1; e != newExt; e++ {
			l.seen[(e>>6)&3] &^= 1 << (e & 63)
		}
	}
	l.mark(newExt)
}

// jitterUpdate applies RFC 3550 A.8 / 6.4.1 to one packet:
// D(i,j) = (Rj - Ri) - (Sj - Si), with the timestamp difference taken modulo 2^32 as a signed
// 32-bit value so a timestamp wrap is not mistaken for a jump.
func (l *Leg) jitterUpdate(ts uint32, arrival time.Time) {
	rate := float64(l.cfg.ClockRate)
	if !l.haveTransit {
		l.epoch = arrival
		l.lastArr, l.lastTS = 0, ts
		l.haveTransit = true
		return
	}
	arr := float64(arrival.Sub(l.epoch)) * rate / float64(time.Second) // arrival in timestamp units
	d := (arr - l.lastArr) - float64(int32(ts-l.lastTS))
	l.lastArr, l.lastTS = arr, ts
	ad := math.Abs(d)
	if ad > DiscontinuityLimit.Seconds()*rate {
		return
	}
	l.jitter += (ad - l.jitter) / 16
	if l.jitter > l.maxJitter {
		l.maxJitter = l.jitter
	}
}

// Snapshot returns the current figures, with the E-model estimate.
func (l *Leg) Snapshot() Snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Snapshot{SSRC: l.ssrc, Duplicates: l.dups, Reordered: l.reordered, Discarded: l.discarded, Restarts: l.restarts}
	s.Expected = l.prevExpected
	s.Packets = l.prevReceived + l.received
	if l.started {
		s.Expected += l.expected()
	}
	if s.Expected > s.Packets {
		s.Lost = s.Expected - s.Packets
	}
	if s.Expected > 0 {
		s.LossPercent = 100 * float64(s.Lost) / float64(s.Expected)
	}
	rate := float64(l.cfg.ClockRate)
	s.JitterUnits = l.jitter
	s.Jitter = time.Duration(l.jitter / rate * float64(time.Second))
	s.MaxJitter = time.Duration(l.maxJitter / rate * float64(time.Second))
	s.Delay = l.cfg.OneWayDelay
	if s.Delay == 0 {
		s.Delay = EstimateDelay(s.Jitter)
	}
	if s.Packets == 0 {
		return s // no audio, no opinion: R and MOS stay 0
	}
	s.R = RFactor(s.LossPercent, s.Delay, l.bpl)
	s.MOS = MOS(s.R)
	return s
}

// EstimateDelay is the one-way delay assumed for a leg with the given jitter and no measured delay:
// DefaultBaseDelay plus a jitter buffer of twice the jitter, at least DefaultMinJitterBuffer.
func EstimateDelay(jitter time.Duration) time.Duration {
	jb := 2 * jitter
	if jb < DefaultMinJitterBuffer {
		jb = DefaultMinJitterBuffer
	}
	return DefaultBaseDelay + jb
}
