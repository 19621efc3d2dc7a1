// Package acd is the automatic call distributor: queues of waiting callers, the agents who serve
// them and their states (logged out, idle, ringing, on a call, wrap-up), and the strategies that
// pick whom to ring next: ring-all, round robin, longest idle and weighted (smooth weighted round
// robin, so that over any run of calls each agent's share follows its weight).
//
// It knows nothing of SIP: a call is a Ticket, an agent is a name. The SIP side (telephony/pbx) and,
// later, an analog FXO line put callers in the same queues. Callers are served first come, first
// served within a queue: a caller is offered agents only once every caller ahead of it is ringing
// someone.
//
// State lives behind one mutex rather than in an owner goroutine: every operation is a few map
// look-ups with no I/O, the callers need a synchronous answer (who won the race to answer), and
// changes are reported after the lock is released, in order, through the Notify callback.
package acd
