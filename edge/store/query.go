package store

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/call"
)

// CallQuery selects calls for the call log (edge/web): every set field must match. The period
// [From, To) is required, so every query walks the calls_arrived index over a bounded range
// (or calls_caller when Caller is set).
type CallQuery struct {
	From, To time.Time
	Source   string
	Outcomes []call.Outcome // any of them; empty: any outcome (live calls included)
	Caller   string         // exact caller number (E.164)
	Queue    string
	Agent    string
	Line     string
	Tracking string // tracking number

	Sort   string // arrived (default), wait, talk, outcome, source
	Desc   bool
	Limit  int // 0: no limit
	Offset int
}

// querySortColumns maps CallQuery.Sort to a column; id breaks ties so pages are stable.
var querySortColumns = map[string]string{
	"":        "arrived_ms",
	"arrived": "arrived_ms",
	"wait":    "wait_ms",
	"talk":    "talk_ms",
	"outcome": "outcome",
	"source":  "source",
}

// ValidCallSort reports whether s is a sort key QueryCalls accepts.
func ValidCallSort(s string) bool { _, ok := querySortColumns[s]; return ok }

func (q CallQuery) where() (string, []any, error) {
	if !q.From.Before(q.To) {
		return "", nil, fmt.Errorf("call query: from %s is not before to %s", q.From, q.To)
	}
	conds := []string{"arrived_ms >= ?", "arrived_ms < ?"}
	args := []any{q.From.UnixMilli(), q.To.UnixMilli()}
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = ?")
			args = append(args, v)
		}
	}
	eq("source", q.Source)
	eq("caller_number", q.Caller)
	eq("queue", q.Queue)
	eq("agent", q.Agent)
	eq("line", q.Line)
	eq("tracking_number", q.Tracking)
	if len(q.Outcomes) > 0 {
		conds = append(conds, "outcome IN ("+sqlIn(len(q.Outcomes))+")")
		for _, o := range q.Outcomes {
			args = append(args, string(o))
		}
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// QueryCalls returns one page of the calls matching q and the number of matching calls.
func (s *Store) QueryCalls(ctx context.Context, q CallQuery) ([]call.Record, int, error) {
	where, args, err := q.where()
	if err != nil {
		return nil, 0, err
	}
	col, ok := querySortColumns[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("call query: unknown sort %q", q.Sort)
	}
	var total int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM calls`+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count calls: %w", err)
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	query := `SELECT ` + callColumns + ` FROM calls` + where + ` ORDER BY ` + col + dir + `, id` + dir
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d OFFSET %d", q.Limit, max(q.Offset, 0))
	}
	out, err := s.collect(ctx, query, args...)
	return out, total, err
}

// EachCall streams every call matching q (Limit and Offset apply), in q's order: the CSV export.
func (s *Store) EachCall(ctx context.Context, q CallQuery) iter.Seq2[call.Record, error] {
	where, args, err := q.where()
	if err == nil && !ValidCallSort(q.Sort) {
		err = fmt.Errorf("call query: unknown sort %q", q.Sort)
	}
	if err != nil {
		return func(yield func(call.Record, error) bool) { yield(call.Record{}, err) }
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	query := `SELECT ` + callColumns + ` FROM calls` + where + ` ORDER BY ` + querySortColumns[q.Sort] + dir + `, id` + dir
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d OFFSET %d", q.Limit, max(q.Offset, 0))
	}
	return s.iterate(ctx, query, args...)
}

// Waits returns the waits of the calls matching q (sort, limit and offset ignored), in no
// particular order: the wait-time distribution of the metrics view. It reads two columns only.
func (s *Store) Waits(ctx context.Context, q CallQuery, fn func(wait time.Duration, outcome call.Outcome)) error {
	where, args, err := q.where()
	if err != nil {
		return err
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT wait_ms, outcome FROM calls`+where+` AND outcome != ''`, args...)
	if err != nil {
		return fmt.Errorf("query waits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ms int64
		var o string
		if err := rows.Scan(&ms, &o); err != nil {
			return fmt.Errorf("read waits: %w", err)
		}
		fn(time.Duration(ms)*time.Millisecond, call.Outcome(o))
	}
	return rows.Err()
}
