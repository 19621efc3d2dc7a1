package acd

import "errors"

var (
	// ErrUnknownQueue means the queue name is not configured.
	ErrUnknownQueue = errors.New("acd: unknown queue")
	// ErrQueueFull means the queue already holds its maximum number of callers (outcome busy).
	ErrQueueFull = errors.New("acd: queue full")
	// ErrNoAgent means no member of the queue is logged in (outcome no_agent).
	ErrNoAgent = errors.New("acd: no agent logged in")
	// ErrBadConfig means a queue configuration is inconsistent.
	ErrBadConfig = errors.New("acd: bad queue configuration")
)
