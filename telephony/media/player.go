package media

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/ringside/ringside/telephony/g711"
)

// FrameBytes is one 20 ms G.711 frame (RFC 3551: 8000 samples/s, one byte each).
const FrameBytes = 160

// Player sends a sequence of clips to one leg, then loops the last one (the hold music), in 20 ms
// RTP packets with its own SSRC, sequence and timestamp. It plays only while enabled.
type Player struct {
	send  func([]byte) error
	codec g711.Codec

	mu      sync.Mutex
	enabled bool
	once    [][]byte // played once each, in order (greeting, announcement)
	loop    []byte   // then looped (hold music)
	pos     int

	hdr  rtp.Header
	ts0  uint32        // RTP timestamp of frame 0
	wake chan struct{} // cap 1: SetEnabled(true) wakes a paused Run
	out  [12 + FrameBytes]byte
}

// NewPlayer plays once-clips, then loops loop, encoded in codec, through send.
func NewPlayer(send func([]byte) error, codec g711.Codec, loop *Clip, once ...*Clip) *Player {
	p := &Player{send: send, codec: codec, loop: loop.Bytes(codec), wake: make(chan struct{}, 1)}
	for _, c := range once {
		if c != nil {
			p.once = append(p.once, c.Bytes(codec))
		}
	}
	p.ts0 = rand.Uint32()
	p.hdr = rtp.Header{Version: 2, PayloadType: uint8(codec), SSRC: rand.Uint32(),
		SequenceNumber: uint16(rand.Uint32()), Timestamp: p.ts0, Marker: true}
	return p
}

// SetEnabled starts or pauses playback. Resuming continues where the music stopped.
func (p *Player) SetEnabled(on bool) {
	p.mu.Lock()
	if on && !p.enabled {
		p.hdr.Marker = true // a new talkspurt (RFC 3551 section 4.1)
	}
	wake := on && !p.enabled
	p.enabled = on
	p.mu.Unlock()
	if wake {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// maxCatchUp bounds the burst a late player sends to catch up with the wall clock (100 ms).
const maxCatchUp = 5

// frameTime is one packet's worth of audio.
const frameTime = 20 * time.Millisecond

// Run paces packets every 20 ms until ctx ends. It keeps to the clock rather than to ticks (a busy
// machine drops ticker ticks): when late it sends up to maxCatchUp packets at once and skips the
// rest. Paused, it sleeps until SetEnabled(true) wakes it: a bridged call costs no timer. The RTP
// timestamp counts 20 ms frames since Run began, paused ones included, so a receiver sees a gap
// rather than a jump back.
func (p *Player) Run(ctx context.Context) {
	t := time.NewTicker(frameTime)
	defer t.Stop()
	start := time.Now()
	var next int64 // frame number, since start, of the next packet
	for {
		if !p.isEnabled() {
			t.Stop()
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			}
			next = max(next, int64(time.Since(start)/frameTime))
			t.Reset(frameTime)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		due := int64(time.Since(start) / frameTime)
		next = max(next, due-maxCatchUp) // too late: skip ahead rather than flood
		for ; next < due; next++ {
			p.send1(next)
		}
	}
}

func (p *Player) isEnabled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.enabled
}

// send1 sends frame number n, if still enabled.
func (p *Player) send1(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.enabled {
		return
	}
	p.hdr.Timestamp = p.ts0 + uint32(n)*FrameBytes
	n0, err := p.hdr.MarshalTo(p.out[:])
	if err != nil {
		return
	}
	frame := p.out[n0 : n0+FrameBytes]
	p.fill(frame)
	p.hdr.SequenceNumber++
	p.hdr.Marker = false
	_ = p.send(p.out[:n0+FrameBytes])
}

// fill copies the next 20 ms of audio into frame.
func (p *Player) fill(frame []byte) {
	for i := 0; i < len(frame); {
		src := p.loop
		if len(p.once) > 0 {
			src = p.once[0]
		}
		if len(src) == 0 {
			for ; i < len(frame); i++ {
				frame[i] = p.codec.Silence()
			}
			return
		}
		c := copy(frame[i:], src[p.pos:])
		i += c
		p.pos += c
		if p.pos >= len(src) {
			p.pos = 0
			if len(p.once) > 0 {
				p.once = p.once[1:]
			}
		}
	}
}

// OnceDone reports whether the greeting and announcement have been played out.
func (p *Player) OnceDone() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.once) == 0
}
