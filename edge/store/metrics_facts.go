package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// MetricsRow is the part of a call record the metrics engine (edge/metrics) reads: attribution,
// outcome, timestamps in Unix milliseconds and durations in milliseconds. The byte slices are
// only valid during the callback (they are reused, which spares an allocation per column and row). AnsweredMs and EndedMs
// are 0 when unset; Lead is -1 when no staff member decided, else 0 or 1. Withheld is true when
// the caller withheld the number or none arrived (caller_number ”).
type MetricsRow struct {
	ArrivedMs, AnsweredMs, EndedMs int64
	WaitMs, TalkMs, HoldMs         int64
	HoldCount                      int
	Outcome                        []byte
	FirstTime, Withheld, Converted bool
	Lead                           int
	RevenueCents                   int64

	TrackingNumber, Source, Campaign, Medium, Queue, Agent, Line []byte
}

// MetricsChanges reports the current change generation and the UTC hours (arrived_ms / 3600000)
// holding a call that was inserted, updated or deleted after generation since (migration 0002).
// Pass the returned generation as since next time.
func (s *Store) MetricsChanges(ctx context.Context, since int64) (gen int64, hours []int64, err error) {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, nil, fmt.Errorf("metrics changes: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `SELECT n FROM metrics_generation WHERE id = 1`).Scan(&gen); err != nil {
		return 0, nil, fmt.Errorf("metrics generation: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT hour FROM metrics_dirty WHERE gen > ? AND gen <= ? ORDER BY hour`, since, gen)
	if err != nil {
		return 0, nil, fmt.Errorf("metrics changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			return 0, nil, fmt.Errorf("metrics changes: %w", err)
		}
		hours = append(hours, h)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("metrics changes: %w", err)
	}
	return gen, hours, nil
}

// MetricsFacts calls fn for every call that arrived in [from, to), finished or not, in arrival
// order. It stops at the first error fn returns.
func (s *Store) MetricsFacts(ctx context.Context, from, to time.Time, fn func(*MetricsRow) error) error {
	rows, err := s.reader.QueryContext(ctx, `SELECT arrived_ms, COALESCE(answered_ms, 0), COALESCE(ended_ms, 0),
		wait_ms, talk_ms, hold_ms, hold_count, outcome, first_time, converted, COALESCE(lead, -1),
		(withheld != 0 OR caller_number = ''),
		revenue_cents, tracking_number, source, campaign, medium, queue, agent, line
		FROM calls WHERE arrived_ms >= ? AND arrived_ms < ? ORDER BY arrived_ms, id`, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return fmt.Errorf("metrics facts: %w", err)
	}
	defer rows.Close()
	var r MetricsRow
	var outcome, tn, src, camp, med, queue, agent, line sql.RawBytes
	for rows.Next() {
		var ft, wh, cv int
		if err := rows.Scan(&r.ArrivedMs, &r.AnsweredMs, &r.EndedMs, &r.WaitMs, &r.TalkMs, &r.HoldMs, &r.HoldCount,
			&outcome, &ft, &cv, &r.Lead, &wh, &r.RevenueCents,
			&tn, &src, &camp, &med, &queue, &agent, &line); err != nil {
			return fmt.Errorf("metrics facts: %w", err)
		}
		r.FirstTime, r.Withheld, r.Converted = ft != 0, wh != 0, cv != 0
		r.Outcome, r.TrackingNumber, r.Source, r.Campaign, r.Medium, r.Queue, r.Agent, r.Line = outcome, tn, src, camp, med, queue, agent, line
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("metrics facts: %w", err)
	}
	return nil
}
