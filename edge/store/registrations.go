package store

import (
	"context"
	"fmt"
	"time"
)

// Registration is a phone's binding as the SIP registrar granted it: the wall-clock time it was
// granted and the interval granted (see migrations/0006_registrations.sql).
type Registration struct {
	User      string
	Contact   string
	Source    string
	Transport string
	Granted   time.Time
	Expires   time.Duration
}

// SaveRegistration stores r, replacing the user's earlier binding; it returns once it is on disk.
func (s *Store) SaveRegistration(ctx context.Context, r Registration) error {
	if _, err := s.writer.ExecContext(ctx, `INSERT INTO registrations (username, contact, source, transport, granted_ms, expires_ms)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET contact = excluded.contact, source = excluded.source,
		transport = excluded.transport, granted_ms = excluded.granted_ms, expires_ms = excluded.expires_ms`,
		r.User, r.Contact, r.Source, r.Transport, r.Granted.UnixMilli(), r.Expires.Milliseconds()); err != nil {
		return fmt.Errorf("save registration: %w", err)
	}
	return nil
}

// DeleteRegistration removes user's binding, if any.
func (s *Store) DeleteRegistration(ctx context.Context, user string) error {
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM registrations WHERE username = ?`, user); err != nil {
		return fmt.Errorf("delete registration: %w", err)
	}
	return nil
}

// Registrations returns every stored binding, lapsed or not: the registrar decides.
func (s *Store) Registrations(ctx context.Context) ([]Registration, error) {
	rows, err := s.reader.QueryContext(ctx,
		`SELECT username, contact, source, transport, granted_ms, expires_ms FROM registrations ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("read registrations: %w", err)
	}
	defer rows.Close()
	var out []Registration
	for rows.Next() {
		var r Registration
		var granted, expires int64
		if err := rows.Scan(&r.User, &r.Contact, &r.Source, &r.Transport, &granted, &expires); err != nil {
			return nil, fmt.Errorf("read registrations: %w", err)
		}
		r.Granted = time.UnixMilli(granted).UTC()
		r.Expires = time.Duration(expires) * time.Millisecond
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read registrations: %w", err)
	}
	return out, nil
}
