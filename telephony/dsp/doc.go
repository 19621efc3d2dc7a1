// Package dsp is the pure-Go signal processing of an analog (FXO) line: everything the line
// needs to understand the audio it hears, at 8000 samples per second of signed 16-bit mono PCM,
// in streaming form (feed any chunk size, typically 20 ms; state carries across chunks) and as
// convenience functions over whole buffers. It allocates nothing per chunk once warm, uses no
// cgo and holds no package-level state; every detector is owned by one line's goroutine.
//
// What it provides:
//
//   - DTMFDetector: DTMF digits (ITU-T Q.23 frequencies, Q.24 acceptance): eight Goertzel
//     filters over 102-sample blocks, with a minimum level, twist limits (8 dB normal, high
//     group weaker; 4 dB reverse, high group stronger: the Bellcore figures; see dtmf.go), a
//     relative-peak test within each group and a tone-to-total energy ratio that rejects
//     speech and music (talk-off), and a two-block duration check with interruption bridging.
//   - FSKReceiver: Bell 202 (Telcordia GR-30-CORE section 3.1) and V.23 (ITU-T V.23, ETSI
//     EN 300 659-1 clause 6.1.1) FSK demodulation by mixing to baseband, a 4th-order Butterworth
//     low-pass and a quadrature discriminator, with bit-clock recovery (start-bit edges, data
//     edges, and a bit period learnt from the channel seizure or the message, for senders up to
//     5 % off rate) and UART framing (1 start, 8 data least significant first, 1 stop), also
//     when the message follows the seizure with no mark signal. The caller-ID layer on top is
//     package telephony/callerid.
//   - ProgressDetector: call-progress tones (dial, busy, reorder/congestion) with per-country
//     cadences, reported as "seen for N cycles" for disconnect supervision.
//   - AlertDetector: the 2130+2750 Hz dual-tone alerting signal that precedes caller ID after
//     a polarity reversal (ETSI DT-AS, EN 300 659-1 clause 6.1.2; BT's Tone Alert Signal) and
//     before call-waiting caller ID (GR-30's CPE Alerting Signal).
//   - RingCounter: rings counted from ring-detector edges, with burst merging and a
//     ringing-stopped timeout. SilenceDetector: how long the audio has been below a level.
//   - Generators for tests and for the simulated line: AppendTone, AppendDTMF,
//     AppendProgressTone, and FSKModulator (phase-continuous, bit-exact at any rate).
//
// Levels are in dBm0 with a full-scale 16-bit sine at +3.17 dBm0 (ITU-T G.711's digital
// milliwatt relation).
//
// # Call-progress tone table
//
// Frequencies in Hz, cadences in ms on/off, from ITU-T E.180 Supplement 2 ("Various tones used
// in national networks", the 2003 edition published by the ITU-T as tones-0203), cross-checked
// against the national figures that DAHDI's zonedata.c and Asterisk's indications.conf carry,
// which cite the same supplement and, for the UK, BT SIN 350:
//
//	country  dial        busy              reorder / congestion
//	US       350+440     480+620 500/500   480+620 250/250 (older exchanges: 300/200)
//	GB       350+440     400 375/375       400 400/350/225/525
//	DE       425         425 480/480       425 240/240
//	FR       440         440 500/500       440 250/250
//
// Each cadence element may deviate by 15 % or 80 ms, whichever is more, and by at most 50 ms
// from the same element of the cycle before. Cadences are matched on whole segments: the tone
// must carry 90 % of the energy over each on-period, and every 20 ms of an off-period must be
// 15 dB or more below the tone (or be steady noise 10 dB below it), so speech with bursts at a
// tone's frequency (a whistle, a sing-song voice, a beeping appliance) is not taken for busy or
// reorder. The price: a tone needs the line's noise (white, whole band) 12 dB or more below
// each of its frequencies, where 8 dB was enough before; exchanges send them at -10 to
// -24 dBm0 and a working line is quieter than -50 dBm0. UK congestion begins
// with 400 on/350 off, which is one busy cycle within that tolerance, so supervisors should act
// on two or more cycles, as the tests do. The UK number-unobtainable tone (400 Hz continuous)
// is not in the table.
//
// # Using it on a line
//
// Ring-first lines (GR-30, most ETSI networks): start the caller-ID decoder when the first ring
// ends (RingCounter.Edge reports it) and stop it when the second begins. Reversal-first lines
// (EN 300 659-1 clause 6.1.2, UK): start it on the polarity reversal, or on an Alert when the
// hardware cannot see reversals, and stop it at the first ring. DTMF CLIP lines: decode from
// the reversal or the line seizure until the first ring. Run ProgressDetector and
// SilenceDetector on the caller's audio for the whole call; act on two or more busy or reorder
// cycles, or on the configured silence timeout.
package dsp
