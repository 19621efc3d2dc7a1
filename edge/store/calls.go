package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"strings"
	"time"

	"github.com/ringside/ringside/edge/call"
)

const callColumns = `id, line, tracking_number, dialed_number, caller_number, caller_name, withheld,
	source, campaign, medium, keyword, gclid, landing_page, queue, agent,
	arrived_ms, answered_ms, connected_ms, ended_ms, wait_ms, talk_ms, hold_ms, hold_count,
	outcome, reason, first_time, recording, recording_status, quality,
	lead, converted, revenue_cents, notes, tagged_by, tagged_ms, recording_reason,
	recording_offset_ms, recording_ms`

func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMs(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

func upsertCall(tx *sql.Tx, r *call.Record) error {
	q, err := json.Marshal(call.Quality{Caller: r.CallerQuality, Agent: r.AgentQuality})
	if err != nil {
		return fmt.Errorf("%w quality of call %s: %w", errEncode, r.ID, err)
	}
	var lead any
	if r.Tags.Lead != nil {
		lead = boolInt(*r.Tags.Lead)
	}
	a := r.Attribution
	_, err = tx.Exec(`INSERT INTO calls (`+callColumns+`)
		VALUES (?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?,?,?,?,?, ?,?)
		ON CONFLICT(id) DO UPDATE SET
		  line=excluded.line, tracking_number=excluded.tracking_number, dialed_number=excluded.dialed_number,
		  caller_number=excluded.caller_number, caller_name=excluded.caller_name, withheld=excluded.withheld,
		  source=excluded.source, campaign=excluded.campaign, medium=excluded.medium, keyword=excluded.keyword,
		  gclid=excluded.gclid, landing_page=excluded.landing_page, queue=excluded.queue, agent=excluded.agent,
		  arrived_ms=excluded.arrived_ms, answered_ms=excluded.answered_ms, connected_ms=excluded.connected_ms,
		  ended_ms=excluded.ended_ms, wait_ms=excluded.wait_ms, talk_ms=excluded.talk_ms, hold_ms=excluded.hold_ms,
		  hold_count=excluded.hold_count, outcome=excluded.outcome, reason=excluded.reason,
		  first_time=excluded.first_time, recording=excluded.recording, recording_status=excluded.recording_status,
		  quality=excluded.quality, lead=excluded.lead, converted=excluded.converted,
		  revenue_cents=excluded.revenue_cents, notes=excluded.notes, tagged_by=excluded.tagged_by,
		  tagged_ms=excluded.tagged_ms, recording_reason=excluded.recording_reason,
		  recording_offset_ms=excluded.recording_offset_ms, recording_ms=excluded.recording_ms`,
		r.ID, r.Line, r.TrackingNumber, r.DialedNumber, r.CallerNumber, r.CallerName, boolInt(r.Withheld),
		a.Source, a.Campaign, a.Medium, a.Keyword, a.GCLID, a.LandingPage, r.Queue, r.Agent,
		r.Arrived.UnixMilli(), msOrNull(r.Answered), msOrNull(r.Connected), msOrNull(r.Ended),
		r.Wait.Milliseconds(), r.Talk.Milliseconds(), r.HoldTotal.Milliseconds(), r.HoldCount,
		string(r.Outcome), r.Reason, boolInt(r.FirstTime), r.Recording, r.RecordingStatus, string(q),
		lead, boolInt(r.Tags.Converted), r.Tags.RevenueCents, r.Tags.Notes, r.Tags.By, msOrNull(r.Tags.At),
		r.RecordingReason, r.RecordingOffset.Milliseconds(), r.RecordingDuration.Milliseconds(),
	)
	if err != nil {
		return fmt.Errorf("save call %s: %w", r.ID, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func insertEvent(tx *sql.Tx, ev call.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("%w %s event of call %s: %w", errEncode, ev.Kind, ev.CallID, err)
	}
	if _, err := tx.Exec(`INSERT INTO journal (call_id, seq, kind, at_ms, body) VALUES (?, ?, ?, ?, ?)`,
		ev.CallID, ev.Seq, string(ev.Kind), ev.At.UnixMilli(), string(body)); err != nil {
		return fmt.Errorf("journal %s event %d of call %s: %w", ev.Kind, ev.Seq, ev.CallID, err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanCall(sc scanner) (call.Record, error) {
	var r call.Record
	var withheld, firstTime, converted int
	var answered, connected, ended, tagged, lead sql.NullInt64
	var arrived, wait, talk, hold, recOffset, recLength int64
	var outcome, quality string
	a := &r.Attribution
	err := sc.Scan(&r.ID, &r.Line, &r.TrackingNumber, &r.DialedNumber, &r.CallerNumber, &r.CallerName, &withheld,
		&a.Source, &a.Campaign, &a.Medium, &a.Keyword, &a.GCLID, &a.LandingPage, &r.Queue, &r.Agent,
		&arrived, &answered, &connected, &ended, &wait, &talk, &hold, &r.HoldCount,
		&outcome, &r.Reason, &firstTime, &r.Recording, &r.RecordingStatus, &quality,
		&lead, &converted, &r.Tags.RevenueCents, &r.Tags.Notes, &r.Tags.By, &tagged, &r.RecordingReason,
		&recOffset, &recLength)
	if err != nil {
		return r, err
	}
	r.Withheld, r.FirstTime, r.Tags.Converted = withheld != 0, firstTime != 0, converted != 0
	r.Arrived = time.UnixMilli(arrived).UTC()
	r.Answered, r.Connected, r.Ended, r.Tags.At = fromMs(answered), fromMs(connected), fromMs(ended), fromMs(tagged)
	r.Wait, r.Talk, r.HoldTotal = time.Duration(wait)*time.Millisecond, time.Duration(talk)*time.Millisecond, time.Duration(hold)*time.Millisecond
	r.RecordingOffset, r.RecordingDuration = time.Duration(recOffset)*time.Millisecond, time.Duration(recLength)*time.Millisecond
	r.Outcome = call.Outcome(outcome)
	if lead.Valid {
		b := lead.Int64 != 0
		r.Tags.Lead = &b
	}
	var q call.Quality
	if err := json.Unmarshal([]byte(quality), &q); err == nil {
		r.CallerQuality, r.AgentQuality = q.Caller, q.Agent
	}
	return r, nil
}

// Call returns one call record.
func (s *Store) Call(ctx context.Context, id string) (call.Record, error) {
	r, err := scanCall(s.reader.QueryRowContext(ctx, `SELECT `+callColumns+` FROM calls WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("call %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("read call %s: %w", id, err)
	}
	return r, nil
}

// Journal returns a call's events in order.
func (s *Store) Journal(ctx context.Context, id string) ([]call.Event, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT body FROM journal WHERE call_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read journal of %s: %w", id, err)
	}
	defer rows.Close()
	var evs []call.Event
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("read journal of %s: %w", id, err)
		}
		var ev call.Event
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			return nil, fmt.Errorf("decode journal of %s: %w", id, err)
		}
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}

// SeenBefore reports whether caller has an attempt that arrived in [since, before): the test for
// a repeat caller (product.md "First-time vs repeat").
func (s *Store) SeenBefore(ctx context.Context, caller string, since, before time.Time) (bool, error) {
	if caller == "" {
		return false, nil
	}
	var n int
	err := s.reader.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM calls WHERE caller_number = ? AND arrived_ms >= ? AND arrived_ms < ?)`,
		caller, since.UnixMilli(), before.UnixMilli()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up earlier calls: %w", err)
	}
	return n != 0, nil
}

// Unfinished returns the calls that have no outcome yet: live calls, or calls cut off by a crash.
func (s *Store) Unfinished(ctx context.Context) ([]call.Record, error) {
	return s.collect(ctx, `SELECT `+callColumns+` FROM calls WHERE outcome = '' ORDER BY id`)
}

// RecordingsClosing returns the calls whose recording was still being finished when last recorded
// (status "closing"): at a start, their files' real state must be settled.
func (s *Store) RecordingsClosing(ctx context.Context) ([]call.Record, error) {
	return s.collect(ctx, `SELECT `+callColumns+` FROM calls WHERE recording_status = 'closing' ORDER BY id`)
}

func (s *Store) collect(ctx context.Context, query string, args ...any) ([]call.Record, error) {
	var out []call.Record
	for r, err := range s.iterate(ctx, query, args...) {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *Store) iterate(ctx context.Context, query string, args ...any) iter.Seq2[call.Record, error] {
	return func(yield func(call.Record, error) bool) {
		rows, err := s.reader.QueryContext(ctx, query, args...)
		if err != nil {
			yield(call.Record{}, fmt.Errorf("query calls: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanCall(rows)
			if err != nil {
				yield(call.Record{}, fmt.Errorf("read call: %w", err))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(call.Record{}, fmt.Errorf("query calls: %w", err))
		}
	}
}

// CallsArrived streams the calls that arrived in [from, to), in arrival order.
func (s *Store) CallsArrived(ctx context.Context, from, to time.Time) iter.Seq2[call.Record, error] {
	return s.iterate(ctx, `SELECT `+callColumns+` FROM calls WHERE arrived_ms >= ? AND arrived_ms < ? ORDER BY arrived_ms, id`,
		from.UnixMilli(), to.UnixMilli())
}

// PurgeBefore deletes the finished calls that arrived before t, with their journals: the retention
// of records by days. Live calls are never purged.
func (s *Store) PurgeBefore(ctx context.Context, t time.Time) (int64, error) {
	return s.PurgeArrived(ctx, time.Time{}, t)
}

// PurgeArrived deletes the finished calls that arrived in [from, before), with their journals; a
// zero from has no lower bound. Live calls are never purged.
func (s *Store) PurgeArrived(ctx context.Context, from, before time.Time) (int64, error) {
	lo := int64(math.MinInt64)
	if !from.IsZero() {
		lo = from.UnixMilli()
	}
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		hi := before.UnixMilli()
		if _, err := tx.ExecContext(ctx, `DELETE FROM journal WHERE call_id IN
			(SELECT id FROM calls WHERE arrived_ms >= ? AND arrived_ms < ? AND outcome != '')`, lo, hi); err != nil {
			return fmt.Errorf("purge journal: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM calls WHERE arrived_ms >= ? AND arrived_ms < ? AND outcome != ''`, lo, hi)
		if err != nil {
			return fmt.Errorf("purge calls: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// NewestArrival is the latest arrival of any stored call (zero when there is none): the store's own
// idea of "now", which retention checks the wall clock against.
func (s *Store) NewestArrival(ctx context.Context) (time.Time, error) {
	var ms sql.NullInt64
	if err := s.reader.QueryRowContext(ctx, `SELECT MAX(arrived_ms) FROM calls`).Scan(&ms); err != nil {
		return time.Time{}, fmt.Errorf("newest arrival: %w", err)
	}
	if !ms.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(ms.Int64).UTC(), nil
}

// sqlIn returns "?,?,?" for n placeholders.
func sqlIn(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }
