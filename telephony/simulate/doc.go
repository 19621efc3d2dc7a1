// Package simulate generates demo traffic for `ringside demo`: simulated agent phones that
// register, answer after a while, sometimes put the caller on hold and sometimes do not answer, and
// callers who ring the demo tracking numbers over real SIP with RTP audio (RFC 3550, 20 ms G.711),
// some of whom give up. Arrivals follow an office day (quiet night, morning and afternoon peaks)
// compressed into DayLength, as a Poisson process whose rate follows the hour.
//
// Everything runs on loopback addresses given in the config; the appliance must admit CallerIP as
// a trunk. The simulator is a client of the appliance like any phone: it knows nothing of its
// internals.
package simulate
