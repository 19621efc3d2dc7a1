package metrics

import (
	"fmt"
	"time"
)

// MaxPeriodDays bounds a period (about eleven years): every loop over the days of a period is
// bounded by it.
const MaxPeriodDays = 4000

// Period is the half-open interval of instants [From, To). A call belongs to P when it arrived in P.
// Build one from local dates with DayRange or Month, or from any two instants.
type Period struct {
	From, To time.Time
}

// dateLayout is how local dates are written in reports and in DayRange.
const dateLayout = "2006-01-02"

// DayRange is the period from local midnight starting first to local midnight ending last (both
// dates included, written 2006-01-02) in loc. A local day lasts 23, 24 or 25 hours.
func DayRange(loc *time.Location, first, last string) (Period, error) {
	a, err := time.ParseInLocation(dateLayout, first, loc)
	if err != nil {
		return Period{}, fmt.Errorf("%w: first day %q: %v", ErrBadPeriod, first, err)
	}
	b, err := time.ParseInLocation(dateLayout, last, loc)
	if err != nil {
		return Period{}, fmt.Errorf("%w: last day %q: %v", ErrBadPeriod, last, err)
	}
	p := Period{From: localMidnight(a, loc), To: localMidnight(b.AddDate(0, 0, 1), loc)}
	return p, p.check()
}

// Month is the local calendar month.
func Month(loc *time.Location, year int, month time.Month) Period {
	return Period{
		From: time.Date(year, month, 1, 0, 0, 0, 0, loc),
		To:   time.Date(year, month+1, 1, 0, 0, 0, 0, loc),
	}
}

func (p Period) check() error {
	if !p.From.Before(p.To) {
		return fmt.Errorf("%w: from %s is not before to %s", ErrBadPeriod, p.From, p.To)
	}
	if p.To.Sub(p.From) > MaxPeriodDays*25*time.Hour {
		return fmt.Errorf("%w: more than %d days", ErrPeriodTooLong, MaxPeriodDays)
	}
	return nil
}

// localMidnight is the start of t's local date in loc. Midnight exists in every zone the tz
// database knows today; time.Date normalises the rare zone that skips it.
func localMidnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// dayNum numbers a civil date (days since 1970-01-01); it names a local day independently of zones.
func dayNum(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// civil is the civil date of a day number.
func civil(n int32) (int, time.Month, int) {
	return time.Unix(int64(n)*86400, 0).UTC().Date()
}

// localDay is the number of t's local date in loc.
func localDay(t time.Time, loc *time.Location) int32 {
	y, m, d := t.In(loc).Date()
	return dayNum(y, m, d)
}

// dayStart is local midnight at the start of day n.
func dayStart(n int32, loc *time.Location) time.Time {
	y, m, d := civil(n)
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// days lists the local days P touches, first to last.
func (p Period) days(loc *time.Location) (first, last int32) {
	return localDay(p.From, loc), localDay(p.To.Add(-time.Nanosecond), loc)
}

// monthFraction is the proration factor of a monthly amount over P (doc.go, "Proration"): the sum,
// over the calendar months P touches, of the fraction of that month's local days P covers, where
// a local day covered in part counts by the share of its real length (23, 24 or 25 hours) inside P.
func (p Period) monthFraction(loc *time.Location) float64 {
	first, last := p.days(loc)
	var total float64
	for n := first; n <= last; n++ {
		start, end := dayStart(n, loc), dayStart(n+1, loc)
		a, b := start, end
		if p.From.After(a) {
			a = p.From
		}
		if p.To.Before(b) {
			b = p.To
		}
		if !b.After(a) {
			continue
		}
		y, m, _ := civil(n)
		inMonth := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
		total += float64(b.Sub(a)) / float64(end.Sub(start)) / float64(inMonth)
	}
	return total
}
