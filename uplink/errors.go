package uplink

import "errors"

// Sentinel errors. Compare with errors.Is.
var (
	// ErrAuthRefused: the broker refused the username/password or the client (CONNACK return code
	// 4 or 5, MQTT 3.1.1 §3.2.2.3). Delivery waits; the backlog is kept.
	ErrAuthRefused = errors.New("uplink: broker refused the credentials")
	// ErrTLS: the TLS handshake failed (unknown CA, wrong host name, certificate refused).
	ErrTLS = errors.New("uplink: TLS handshake failed")
	// ErrConnect: the broker could not be reached or did not answer in time.
	ErrConnect = errors.New("uplink: cannot connect to the broker")
	// ErrConnectionLost: an established connection dropped.
	ErrConnectionLost = errors.New("uplink: connection lost")
	// ErrConfig: a setting is missing or invalid; the message names the key.
	ErrConfig = errors.New("uplink: invalid configuration")
	// ErrPayload: a payload does not follow CONTRACT.md.
	ErrPayload = errors.New("uplink: payload does not follow the contract")
)
