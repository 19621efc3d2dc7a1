// Package uplink gets the appliance's call summaries, rollups, live queue gauges and its own status
// to a central dashboard over MQTT, and announces the key sensors to Home Assistant.
//
// The topic and payload contract is versioned and documented in CONTRACT.md beside this file; the
// Go types in contract.go are that contract.
//
// Nothing is lost: the edge stores each finished call's summary (Encoder.Call) in its SQLite outbox
// in the same transaction as the call record. The Publisher drains that outbox in sequence order
// with a bounded in-flight window and a rate cap, stamps each row's per-device sequence number into
// the payload as it publishes, and deletes a row only after the broker's PUBACK (MQTT 3.1.1 §4.3.2).
// Because a PUBACK can be lost with the connection, a row may be sent twice: consumers drop
// duplicates by id and find gaps by seq.
//
// paho.mqtt.golang is used with CleanSession false, a stable client id and its memory store; the
// SQLite outbox, not paho's store, is the source of truth, and the Publisher runs its own reconnect
// loop (exponential backoff with jitter) so that every connection starts from the lowest unacknowledged
// row, also after a process restart.
//
// The edge reads Publisher.Status for the uplink LED and the web page (connected, offline,
// auth_refused, tls_failed, with the backlog), feeds SetLive and SetRollups, and calls Kick after
// committing outbox rows. Package uplinktest has the real peers the tests use (mosquitto, a SQLite
// outbox, a persistent subscriber), for end-to-end tests elsewhere too.
//
// Specs: MQTT 3.1.1 (OASIS, 2014): QoS 1 delivery (§4.3.2), retained messages (§3.3.1.3), the Will
// message (§3.1.2.5), persistent sessions (§3.1.2.4). RFC 2104 / FIPS 180-4 (HMAC-SHA256) for hashed
// caller numbers. Home Assistant MQTT discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery).
//
// Not built: the command topic to request a resend from seq N (see CONTRACT.md, "Not in v1"): the
// outbox deletes a row at its PUBACK, so there is nothing left to resend from.
package uplink
