// Package callerid decodes (and, for tests and the simulated line, encodes) the caller
// identity an analog line delivers before it is answered, in the three ways networks send it:
//
//   - Bell202: Telcordia GR-30-CORE, Bell 202 FSK in the silence between the first and second
//     ring: channel seizure (300 alternating bits), 180 mark bits, then a Single Data Message
//     (SDMF, type 0x04: MMDDHHMM and the number, or 'P' private / 'O' out of area) or a
//     Multiple Data Message (MDMF, type 0x80: parameters date/time 0x01, number 0x02, reason
//     for absent number 0x04, name 0x07, reason for absent name 0x08).
//   - V23: ETSI EN 300 659-1 (physical layer: V.23 FSK after the first ring, or after a line
//     polarity reversal before it) and EN 300 659-3 (the call set-up message 0x80 and its
//     parameters, the same layout as MDMF, plus called line identity 0x03).
//   - DTMF: DTMF CLIP before the first ring (Denmark, Finland, the Netherlands, Sweden, ...):
//     'A' or 'D', the digits, 'C' or '#'; B00C / B10C and D1# / D2# / D3# for unavailable or
//     withheld numbers (see dtmfclip.go for the sources).
//
// Every FSK frame's checksum (the two's complement of the modulo-256 sum of type, length and
// message, GR-30 section 5.3 and EN 300 659-3 clause 5.1) is verified; a frame that fails it
// is reported as ErrChecksum and nothing of it is used. DTMF CLIP carries no checksum; the
// decoder insists on the start and end codes instead.
//
// Use: keep one FSKDecoder (or DTMFDecoder) per line for the standard configured for it, feed
// it the line's audio from the polarity reversal or the end of the first ring until the second
// ring, and take the Result. Numbers and names contain printable ASCII only but are personal
// data: log them shortened, never whole. Decode does the same over a whole buffer.
//
// The FSK demodulation and the DTMF detection live in package telephony/dsp.
package callerid
