package hw

import "errors"

// ErrNoGPIO means this machine has no usable GPIO line for a configured pin:
// periph.io's host.Init failed, or gpioreg knows no line by that name. The
// caller falls back to [SimulatedBoard]; the error text names the pin and its
// config key.
var ErrNoGPIO = errors.New("hw: no GPIO here")

// ErrConfig means a [Config] or [ButtonConfig] value is unusable (for example
// a long press shorter than the debounce time). The error text names the key.
var ErrConfig = errors.New("hw: bad config")

// ErrRunning means Run was called on a [Panel] or [Button] whose Run has
// already started: each owns its pins from one goroutine only.
var ErrRunning = errors.New("hw: Run already called")
