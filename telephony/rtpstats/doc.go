// Package rtpstats keeps the receive statistics of one RTP leg as its packets arrive, and turns them
// into the call-quality figures of a call record: packets, expected, lost, duplicates, reordered,
// interarrival jitter and an estimated MOS.
//
// Specs implemented:
//   - RFC 3550 appendix A.1: sequence number validation with extended (32-bit) sequence numbers,
//     MAX_DROPOUT 3000 and MAX_MISORDER 100, and the two-packet resynchronisation after a large jump.
//     The initial two-packet probation is not applied: the leg is already validated by SDP, and the
//     first packet of a call counts.
//   - RFC 3550 appendix A.3: expected = extended highest - base + 1; lost = expected - received.
//     Unlike A.3, duplicates are not counted as received (they are reported apart), so lost is
//     never pulled below the true figure by a duplicating network.
//   - RFC 3550 appendix A.8 / section 6.4.1: interarrival jitter J += (|D| - J)/16 in timestamp units.
//     Deviation: a transit difference larger than one second (DiscontinuityLimit) is treated as a
//     timestamp discontinuity (re-INVITE, hold with a frozen RTP clock) and not fed to J.
//   - ITU-T G.107 (06/2015) E-model, simplified to G.711 with every other parameter at its default
//     value (table 3): R = Ro - Is - Id - Ie,eff + A with Ro = 94.77, Is = 1.41, A = 0;
//     Id = Idte + Idle + Idd from clause 7.3 with T = Ta and Tr = 2 Ta; Ie,eff from clause 7.4 with
//     Ie = 0, BurstR = 1 (random loss); R -> MOS by annex B (B-4).
//   - ITU-T G.113 appendix I, table I.3: packet-loss robustness Bpl for G.711 is 4.3 without packet
//     loss concealment and 25.1 with the G.711 appendix I PLC. The default is with PLC, because
//     every SIP desk phone and ATA we target conceals loss; set Config.NoPLC for a receiver that
//     does not.
//
// The one-way delay Ta fed to the E-model is Config.OneWayDelay when set; otherwise it is estimated
// as DefaultBaseDelay (packetisation plus codec and network) plus a jitter buffer sized to twice the
// current jitter. That is an estimate, not a measurement: RTCP round-trip time would be better and
// can be passed in as OneWayDelay by a caller that has it.
//
// Use: one Leg per direction of each call (rtpstats.New); the relay's receive loop calls Observe
// for every audio packet with time.Now() at the socket read, and ObserveUntimed for the stream's
// telephone-event (RFC 4733) and comfort-noise packets, which share the sequence numbers but not
// the audio clock; Snapshot at the end of the call gives the call record's figures.
//
// A Leg is safe for one writer (the relay's receive loop) and any number of Snapshot readers.
// Observe performs no allocation.
package rtpstats
