// Package uplinktest holds real peers for testing the uplink: a Debian mosquitto broker started on a
// loopback port with persistence on (Mosquitto), a SQLite outbox with the edge store's table shape
// (SQLiteOutbox), and a persistent-session QoS 1 subscriber (Subscriber). The integrator's end-to-end
// tests can use them too.
package uplinktest
