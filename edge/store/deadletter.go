package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// DeadLetter is a write that was set aside because it can never succeed.
type DeadLetter struct {
	Seq    int64
	CallID string
	At     time.Time
	Cause  string
	Write  string // the write as JSON (or as Go prints it, when it cannot be encoded)
}

// SetAside keeps a write that failed permanently (see Permanent) in the dead-letter table, whole
// and with its cause, so that the writes after it are not held up by it.
func (s *Store) SetAside(ctx context.Context, w Write, cause error, at time.Time) error {
	body, err := json.Marshal(w)
	if err != nil {
		body = fmt.Appendf(nil, "%+v", w) // a NaN in the quality figures, say: keep what Go can print
	}
	id := w.CallID()
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO dead_letter (call_id, set_ms, cause, write) VALUES (?, ?, ?, ?)`,
			id, at.UnixMilli(), cause.Error(), string(body)); err != nil {
			return fmt.Errorf("set aside the write of call %s: %w", id, err)
		}
		return nil
	})
}

// DeadLetters returns the writes set aside, oldest first, at most limit of them.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT seq, call_id, set_ms, cause, write FROM dead_letter ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var d DeadLetter
		var ms int64
		if err := rows.Scan(&d.Seq, &d.CallID, &ms, &d.Cause, &d.Write); err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		d.At = time.UnixMilli(ms).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeadLetterCount is how many writes are set aside.
func (s *Store) DeadLetterCount(ctx context.Context) (int, error) {
	var n int
	if err := s.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM dead_letter`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	return n, nil
}
