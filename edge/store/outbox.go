package store

import (
	"context"
	"fmt"
	"time"
)

// OutboxAfter returns up to limit queued messages with seq > after, oldest first.
func (s *Store) OutboxAfter(ctx context.Context, after int64, limit int) ([]OutboxEntry, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT seq, id, topic, payload, created_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		var created int64
		if err := rows.Scan(&e.Seq, &e.ID, &e.Topic, &e.Payload, &created); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		e.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// OutboxAck deletes acknowledged messages (after their PUBACK).
func (s *Store) OutboxAck(ctx context.Context, seqs ...int64) error {
	if len(seqs) == 0 {
		return nil
	}
	args := make([]any, len(seqs))
	for i, v := range seqs {
		args[i] = v
	}
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM outbox WHERE seq IN (`+sqlIn(len(seqs))+`)`, args...); err != nil {
		return fmt.Errorf("acknowledge outbox messages: %w", err)
	}
	return nil
}

// OutboxBacklog returns how many messages wait, and the age of the oldest.
func (s *Store) OutboxBacklog(ctx context.Context) (n int64, oldest time.Time, err error) {
	var min *int64
	if err := s.reader.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_ms) FROM outbox`).Scan(&n, &min); err != nil {
		return 0, time.Time{}, fmt.Errorf("count outbox: %w", err)
	}
	if min != nil {
		oldest = time.UnixMilli(*min).UTC()
	}
	return n, oldest, nil
}
