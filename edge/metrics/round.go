package metrics

import "time"

// Whole is d in whole units, rounded half away from zero (1234.5678 ms is 1235 ms, 1234.4 ms is
// 1234 ms). It is the one rounding of every surface that shows a measured duration in whole units:
// the page's m:ss, the call summaries' and rollups' whole milliseconds on MQTT. The JSON API's
// figures keep the exact value. Running clocks (a live call's wait on the wallboard) count whole
// seconds elapsed instead, as any clock does.
func Whole(d, unit time.Duration) int64 { return int64(d.Round(unit) / unit) }
