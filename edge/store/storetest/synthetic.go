// Package storetest builds stores for tests and benchmarks that need many calls: the metrics
// engine's and the web API's 1,000,000-call benchmarks share this generator, so their figures are
// comparable. SmallDisk and Fill give the full-disk tests a real file system that fills up.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/store"
)

// FillSynthetic writes n synthetic finished calls into the store in dir (creating it), spread evenly
// over the 13 local months 2025-03 .. 2026-03 of cfg's site, on cfg's tracking numbers and queues,
// with a fixed seed so every run writes the same calls. It writes by direct SQL in large
// transactions without fsync: it builds benchmark stores (the store's own Commit is fsync-bound
// and measured by the store's benchmarks), never production data.
func FillSynthetic(dir string, cfg *config.Config, n int) error {
	ctx := context.Background()
	st, err := store.Open(ctx, dir, slog.New(slog.DiscardHandler)) // creates the schema
	if err != nil {
		return err
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName)+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rng := rand.New(rand.NewPCG(1, 2))
	loc := cfg.Site.Location
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, loc).UnixMilli()
	end := time.Date(2026, 4, 1, 0, 0, 0, 0, loc).UnixMilli()
	step := float64(end-start) / float64(n)
	type num struct{ n, src, camp, med, queue, line string }
	var nums []num
	for _, t := range cfg.TrackingNumbers {
		line := "trunk"
		if t.Number == "+12125550100" {
			line = "ata-1"
		}
		nums = append(nums, num{t.Number, t.Source, t.Campaign, t.Medium, t.Queue, line})
	}
	agents := []string{"alice", "bob", "carol"}
	outcomes := []string{"connected", "connected", "connected", "connected", "connected", "abandoned", "abandoned", "busy", "no_agent", "timeout", "closed", "failed"}
	const batch = 50_000
	for i := 0; i < n; i += batch {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		stmt, err := tx.Prepare(`INSERT INTO calls (id, line, tracking_number, dialed_number, caller_number, caller_name, withheld,
			source, campaign, medium, keyword, gclid, landing_page, queue, agent,
			arrived_ms, answered_ms, connected_ms, ended_ms, wait_ms, talk_ms, hold_ms, hold_count,
			outcome, reason, first_time, recording, recording_status, quality,
			lead, converted, revenue_cents, notes, tagged_by, tagged_ms)
			VALUES (?,?,?,?,?,'',?, ?,?,?,'','','',?,?, ?,?,?,?,?,?,?,?, ?,'',?,'','','{}', ?,?,?,'','',NULL)`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for j := i; j < min(i+batch, n); j++ {
			arrived := start + int64(float64(j)*step)
			num := nums[rng.IntN(len(nums))]
			caller := fmt.Sprintf("+1646555%04d", rng.IntN(10000))
			withheld := 0
			if rng.IntN(10) == 0 {
				caller, withheld = "", 1
			}
			o := outcomes[rng.IntN(len(outcomes))]
			var answered, connected, ended any
			wait := int64(rng.IntN(90_000))
			var talk, hold, holds int64
			agent := ""
			if o != "busy" && rng.IntN(4) != 0 {
				answered = arrived + int64(rng.IntN(3000))
				wait = max(wait, answered.(int64)-arrived)
			}
			if o == "connected" {
				answered = arrived + min(wait, 2000)
				connected = arrived + wait
				talk = int64(rng.IntN(900_000))
				agent = agents[rng.IntN(len(agents))]
				if rng.IntN(4) == 0 {
					holds, hold = 1, int64(rng.IntN(60_000))
				}
			}
			ended = arrived + wait + talk
			var lead any
			if rng.IntN(20) == 0 {
				lead = rng.IntN(2)
			}
			revenue := 0
			if o == "connected" && rng.IntN(5) == 0 {
				revenue = 1000 * (1 + rng.IntN(200))
			}
			if _, err := stmt.Exec(fmt.Sprintf("bench-%09d", j), num.line, num.n, num.n, caller, withheld,
				num.src, num.camp, num.med, num.queue, agent,
				arrived, answered, connected, ended, wait, talk, hold, holds,
				o, rng.IntN(3) == 0, lead, rng.IntN(10) == 0, revenue); err != nil {
				tx.Rollback()
				return err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
