package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/ringside/ringside/edge/call"
)

// FileName is the database's name inside the state directory.
const FileName = "ringside.db"

// maxBatch bounds how many writes one group commit carries.
const maxBatch = 256

// Store keeps call records, their journal and the uplink outbox in one SQLite file.
//
// All writes go through one goroutine (SQLite has one writer anyway), which groups the writes that
// queue up while a commit is in flight into the next transaction: under load many calls share one
// fsync, and a caller's Commit returns only once its rows are durable (synchronous=FULL).
type Store struct {
	log    *slog.Logger
	path   string
	writer *sql.DB
	reader *sql.DB

	writes chan *pending
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// Write is what one Commit makes durable together, in one transaction.
type Write struct {
	Record *call.Record  // upserted when not nil
	Events []call.Event  // appended to the journal
	Outbox []OutboxEntry // queued for the uplink
}

// CallID is the call w is about ("" when it carries only uplink messages).
func (w Write) CallID() string {
	if w.Record != nil {
		return w.Record.ID
	}
	if len(w.Events) > 0 {
		return w.Events[0].CallID
	}
	return ""
}

// OutboxEntry is one message waiting for the uplink. Seq is assigned by the store.
type OutboxEntry struct {
	Seq       int64
	ID        string
	Topic     string
	Payload   []byte
	CreatedAt time.Time
}

type pending struct {
	w    Write
	done chan error
}

// Open opens (creating if needed) the database in dir, applies pending migrations, and starts the
// writer. dir is created 0700.
func Open(ctx context.Context, dir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// synchronous=FULL: a commit that returned survives power loss (WAL with NORMAL may lose the
	// newest commits). _txlock=immediate takes the write lock at BEGIN, so no transaction fails
	// half-way with SQLITE_BUSY.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(ON)&_txlock=immediate"
	writer, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		writer.Close()
		return nil, fmt.Errorf("restrict %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	s := &Store{
		log: log, path: path, writer: writer, reader: reader,
		writes: make(chan *pending, maxBatch),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go s.writeLoop()
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close stops the writer after the writes already queued, and closes the database.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return errors.Join(s.reader.Close(), s.writer.Close())
}

// Commit makes w durable in one transaction and returns once it is on disk.
func (s *Store) Commit(ctx context.Context, w Write) error {
	p := &pending{w: w, done: make(chan error, 1)}
	select {
	case s.writes <- p:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("commit: %w", ctx.Err())
	}
	select {
	case err := <-p.done:
		return err
	case <-s.done:
		// The writer has stopped. It answers every write it took before it stops, so an answer
		// is there now or never: a write queued after its last drain is not committed.
		select {
		case err := <-p.done:
			return err
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		// The write is queued and will still be committed; the caller just stops waiting.
		return fmt.Errorf("commit: %w", ctx.Err())
	}
}

func (s *Store) writeLoop() {
	defer close(s.done)
	for {
		var batch []*pending
		select {
		case p := <-s.writes:
			batch = append(batch, p)
		case <-s.stop:
			// Drain what is queued, then stop.
			for {
				select {
				case p := <-s.writes:
					batch = append(batch, p)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				s.commitBatch(batch)
			}
			return
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case p := <-s.writes:
				batch = append(batch, p)
			default:
				break gather
			}
		}
		s.commitBatch(batch)
	}
}

// commitBatch writes every pending write in one transaction. If the transaction fails, each write
// is retried alone so that one bad write cannot fail the others.
func (s *Store) commitBatch(batch []*pending) {
	err := s.tx(context.Background(), func(tx *sql.Tx) error {
		for _, p := range batch {
			if err := writeOne(tx, p.w); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	for _, p := range batch {
		p.done <- s.tx(context.Background(), func(tx *sql.Tx) error { return writeOne(tx, p.w) })
	}
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func writeOne(tx *sql.Tx, w Write) error {
	if w.Record != nil {
		if err := upsertCall(tx, w.Record); err != nil {
			return err
		}
	}
	for _, ev := range w.Events {
		if err := insertEvent(tx, ev); err != nil {
			return err
		}
	}
	for _, o := range w.Outbox {
		if _, err := tx.Exec(`INSERT INTO outbox (id, topic, payload, created_ms) VALUES (?, ?, ?, ?)`,
			o.ID, o.Topic, o.Payload, o.CreatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("queue outbox message %s: %w", o.ID, err)
		}
	}
	return nil
}
