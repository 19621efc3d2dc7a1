package web

import "errors"

var (
	// ErrMissingDependency: New was called without one of the dependencies it needs.
	ErrMissingDependency = errors.New("web: missing dependency")
	// ErrBadParam: a query parameter or request body was malformed; the message says which.
	ErrBadParam = errors.New("bad parameter")
	// ErrSetupDone: the first-run setup was attempted while an admin password already exists.
	ErrSetupDone = errors.New("the admin password is already set")
	// ErrLoginFailed: wrong user or password (the attempt counts towards the lockout).
	ErrLoginFailed = errors.New("wrong user or password")
	// ErrThrottled: a login attempt was refused without checking its password, because its
	// address is locked out or too many passwords are being checked at once.
	ErrThrottled = errors.New("too many login attempts")
	// ErrSetupCode: a first-run setup from another machine came without the right setup code.
	ErrSetupCode = errors.New("wrong or missing setup code")
	// ErrWeakPassword: the first-run password is too short.
	ErrWeakPassword = errors.New("password too short")
)
