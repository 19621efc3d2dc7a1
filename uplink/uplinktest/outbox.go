package uplinktest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ringside/ringside/uplink"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// outboxDDL is the outbox table of edge/store/migrations/0001_init.sql.
const outboxDDL = `CREATE TABLE IF NOT EXISTS outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  topic      TEXT NOT NULL,
  payload    BLOB NOT NULL,
  created_ms INTEGER NOT NULL
)`

// SQLiteOutbox is an uplink.Outbox in a SQLite file, with the same pragmas as the edge's store
// (WAL, synchronous FULL). Several processes may open the same file.
type SQLiteOutbox struct {
	db *sql.DB
}

// OpenOutbox opens or creates the outbox file.
func OpenOutbox(path string) (*SQLiteOutbox, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open outbox: %w", err)
	}
	db.SetMaxOpenConns(1) // one connection: writes and reads never wait on each other in-process
	if _, err := db.Exec(outboxDDL); err != nil {
		db.Close()
		return nil, fmt.Errorf("create outbox: %w", err)
	}
	return &SQLiteOutbox{db: db}, nil
}

// Close closes the database.
func (o *SQLiteOutbox) Close() error { return o.db.Close() }

// Write stores messages in one transaction, as the edge does with each call record.
func (o *SQLiteOutbox) Write(ctx context.Context, now time.Time, msgs ...uplink.Message) error {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO outbox (id, topic, payload, created_ms) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	defer st.Close()
	for _, m := range msgs {
		if _, err := st.ExecContext(ctx, m.ID, m.Topic, m.Payload, now.UnixMilli()); err != nil {
			return fmt.Errorf("write outbox %s: %w", m.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write outbox: %w", err)
	}
	return nil
}

// OutboxAfter implements uplink.Outbox.
func (o *SQLiteOutbox) OutboxAfter(ctx context.Context, after int64, limit int) ([]uplink.Entry, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT seq, id, topic, payload, created_ms FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	out := make([]uplink.Entry, 0, limit)
	for rows.Next() {
		var e uplink.Entry
		var ms int64
		if err := rows.Scan(&e.Seq, &e.ID, &e.Topic, &e.Payload, &ms); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		e.CreatedAt = time.UnixMilli(ms).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// OutboxAck implements uplink.Outbox.
func (o *SQLiteOutbox) OutboxAck(ctx context.Context, seqs ...int64) error {
	if len(seqs) == 0 {
		return nil
	}
	args := make([]any, len(seqs))
	for i, s := range seqs {
		args[i] = s
	}
	q := `DELETE FROM outbox WHERE seq IN (?` + strings.Repeat(",?", len(seqs)-1) + `)`
	if _, err := o.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("acknowledge outbox: %w", err)
	}
	return nil
}

// OutboxBacklog implements uplink.Outbox.
func (o *SQLiteOutbox) OutboxBacklog(ctx context.Context) (int64, time.Time, error) {
	var n int64
	var oldest sql.NullInt64
	if err := o.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_ms) FROM outbox`).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, fmt.Errorf("count outbox: %w", err)
	}
	var t time.Time
	if oldest.Valid {
		t = time.UnixMilli(oldest.Int64).UTC()
	}
	return n, t, nil
}
