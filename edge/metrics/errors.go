package metrics

import "errors"

var (
	// ErrBadPeriod: the period is empty, reversed, or not a valid local date range.
	ErrBadPeriod = errors.New("bad period")
	// ErrPeriodTooLong: the period spans more than MaxPeriodDays local days.
	ErrPeriodTooLong = errors.New("period too long")
)
