// Package fxo answers an analog telephone line through an FXO line interface (a USB sound
// device and a ring-detector / hook-relay pair of GPIO pins, see package hw) as if the box had an
// ATA built in: the line's own state machine watches ring, polarity and loop current, decodes
// caller ID, takes the line off hook after the configured number of rings and places a SIP call
// over loopback to the appliance's own SIP port, authenticated as the port's line account. From
// then on the call follows the same queue, agent, recording and measurement path as any SIP call;
// the line's audio is carried as 20 ms G.711 RTP both ways.
//
// States: idle -> ringing (rings counted with dsp.RingCounter; caller ID captured by
// callerid.FSKDecoder between the first and second ring on ring-first lines, from a polarity
// reversal or a dual-tone alert until the first ring on reversal-first lines, and by
// callerid.DTMFDecoder before the first ring for DTMF CLIP) -> off hook after RingsBeforeAnswer
// rings -> in call -> idle. A caller ID belongs to the ring cycle it precedes or is inside: one
// decoded ahead of ringing is dropped when no ring follows within 8 s (EN 300 659-1 puts the
// first ring within a few seconds of pre-ring data), and every caller ID ends with its attempt
// (ringing that stops unanswered, a refusal, a hang-up). The caller's hang-up is detected from busy or reorder tone seen for two
// or more cadence cycles (dsp.ProgressDetector), a loop-current drop or a polarity reversal where
// the hardware reports them, or a silence timeout (dsp.SilenceDetector); the appliance's hang-up
// is its BYE. Either way the line goes back on hook.
//
// The SIP leg (RFC 3261) sends INVITE to sip:<tracking number>@<SIP target> with the decoded
// number as the From user and in P-Asserted-Identity (RFC 3325); a withheld or unavailable number
// is sent as "anonymous" with Privacy: id (RFC 3323). The header X-Ringside-Arrived-Ago carries
// the milliseconds since the first ring, so the appliance can count the caller's wait from the
// moment the line rang. SDP offer/answer per RFC 3264 (PCMU, or PCMA when configured), RTP per
// RFC 3550 / RFC 3551 with 20 ms frames, G.711 (ITU-T G.711) through telephony/g711.
//
// Specifications followed through the DSP packages: Telcordia GR-30-CORE (Bell 202 caller ID),
// ETSI EN 300 659-1/-3 (V.23 caller ID, polarity reversal and DT-AS), DTMF CLIP, ITU-T E.180
// Supplement 2 (call-progress tones).
//
// The hardware is consumed through the small Line interface (std types only, so package hw can
// implement it without importing this package); package fxosim is a simulated line driven by a
// script of rings, caller-ID signals and audio.
//
// # Wiring a port
//
//	if err := hw.FXOSupported(); err != nil { return err } // a CGO_ENABLED=0 build refuses FXO ports
//	line, err := hw.OpenFXOLine(hw.FXOConfig{Ring: ringPin, RingActiveLow: true, Hook: hookPin, ...}, hw.SystemClock(), log)
//	port, err := fxo.New(fxo.Config{Port: "fxo1", TrackingNumber: "5550100", CallerID: "bell202",
//		Country: "US", SIPTarget: sipListener, Username: "fxo1", Password: generated}, line, sink, log, clock)
//	go port.Run(ctx)   // owns the line; returns when ctx ends, after hanging up any call
//
// The appliance must know the port as a line account (pbx.LineAccount{ID: "fxo1", Username:
// "fxo1", Password: generated}) and route the tracking number. Without hardware, a
// fxosim.Line (fxosim.Script(fxosim.Call{...}), fxosim.New(script, time.Now(), true)) stands in
// for hw's line and serves as the port's clock.
//
// TODO: no RFC 4733 DTMF toward the appliance (the caller's DTMF travels in band as G.711);
// no call-waiting (off-hook) caller ID; a ringing-stopped-before-answer call is reported as an
// EventMissed for the integrator to record, since the appliance never saw it.
package fxo
