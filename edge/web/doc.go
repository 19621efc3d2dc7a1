// Package web is the appliance's local web page and API: the live wallboard, the metrics view,
// the call log with playback and tagging, the abandoned and blocked lists, a JSON API under
// /api/v1 (described in openapi.yaml, OpenAPI 3.0), a Server-Sent Events stream of the live bus,
// and Prometheus /metrics.
//
// # Wiring
//
//	srv, err := web.New(web.Deps{Config: cfg, Calls: st, Tracker: tr, Metrics: eng, Bus: bus,
//		Recordings: recs, LEDs: leds, Clock: clock, Log: log.With("part", "web")})
//	ln, err := net.Listen("tcp", cfg.Web.Listen)
//	err = srv.Serve(ctx, ln) // runs Run and the HTTP server until ctx ends
//
// Recordings: web.RecorderFiles(recordingsRoot) plays the recorder's G.711 WAVs as 16-bit PCM
// (recorder.OpenPCM). LEDs: a func returning each LED's pattern by name, e.g. from
// hw.Panel.Snapshot() (LEDStatus.LED -> LEDStatus.Pattern); nil falls back to the LEDs of the
// last live.TypeStatus event. Problems: a func returning the conditions a person must know about
// (the appliance's: call records cannot be saved, records set aside); the wallboard shows each one
// in a banner, and a Failing one makes /healthz answer 503 with its text.
//
// Or mount srv.Handler() in your own http.Server and run srv.Run(ctx) beside it: Run follows the
// live bus (agents' states, LED status, the Prometheus call counters); when it returns, open event
// streams end, so an http.Server.Shutdown after it does not wait for them.
//
// # Pages
//
// Server-rendered with html/template; one small script (static/app.js) and one stylesheet,
// embedded with go:embed, no CDN. /wallboard (live: the appliance's problems, callers waiting, longest wait, agents,
// today's volume, blocked % and service level coloured against their targets, lines, LEDs;
// refreshed from the event stream without reloading), /stats (any period and slice: the figures
// of product.md, with volume by hour and by day, by source, the wait distribution, the hour x
// weekday heatmap and first-time vs repeat drawn as inline SVG), /calls and /calls/{id} (the call
// log, journal, <audio> playback and tagging), /abandoned and /blocked (whom to call back).
// Every figure on /stats carries its exact value in data-value, named as in edge/metrics
// ("Figure names"), so the page, /api/v1/metrics and the engine can be compared one to one.
//
// # Speed
//
// Reports come from the metrics engine (edge/metrics) and are reused while the store's change
// generation (edge/store migration 0002) is unchanged, for 30 s at most: a year's report folds
// about a million facts, and a wallboard or a metrics page is viewed far more often than calls
// change. Any call written or re-tagged bumps the generation, so a figure is never stale.
//
// # Auth
//
//   - One admin account: web.admin_user with the bcrypt hash web.admin_password_hash, or, when
//     the config has none, a one-time setup page (/setup) that stores the hash in
//     <state_dir>/web-admin.bcrypt (0600, created exclusively). Until then every page redirects
//     to /setup.
//   - First-run setup code: while no password exists, each start makes a one-time code (80
//     random bits, 16 base32 characters in groups of four), logs it at info and writes it to
//     <state_dir>/web-setup-code (0600, the service user's). /setup asks for it, compared in
//     constant time before any hashing, unless the request comes from this machine: the
//     connection's remote address is loopback and it carries no Forwarded, X-Forwarded-For or
//     X-Real-IP header (a reverse proxy on the box makes every visitor loopback; a proxy that
//     adds none of them must not sit in front of an unfinished setup). A browser on the box or
//     an SSH tunnel needs no code; anyone who can reach the box from outside does. Setting the
//     password removes the file and the code.
//   - Sessions: random 256-bit tokens in memory (a restart logs everyone out), cookie
//     ringside_session: HttpOnly, SameSite=Strict, Secure when served over TLS, 12 h idle,
//     7 days at most, 64 sessions at most.
//   - CSRF: every state-changing request (PUT tags, POST logout) needs the session's token in
//     the X-CSRF-Token header or the csrf form field; the page carries it in <meta name=csrf>.
//     Any POST/PUT whose Origin names another site is refused as well.
//   - Login rate limit: 5 failures per address in 10 minutes lock the address out (429 with
//     Retry-After) until the oldest failure is 10 minutes old; the same limit guards the basic
//     auth of /metrics. An attempt counts as a failure before its password is hashed (a success
//     takes it back), so parallel guesses cannot outrun the count; at most 2 passwords per
//     address and 4 in all are checked at once, and attempts beyond that get 429 with
//     Retry-After: 1, unhashed.
//   - Wallboard token (web.wallboard_token): ?token= opens /wallboard, /api/v1/live and
//     /api/v1/events only, read-only, with caller numbers masked (•••123) and names and notes
//     left out. Staff who log in see full numbers: caller numbers are personal data, shown to
//     staff, never written to the log.
//   - Without credentials only /healthz answers, besides what logging in needs: /login, /setup
//     (404 once a password exists) and the static script and stylesheet.
//   - Headers on every answer: a Content-Security-Policy with no inline script or style
//     (default-src 'self'; frame-ancestors 'none'), X-Content-Type-Options: nosniff,
//     X-Frame-Options: DENY, Referrer-Policy: same-origin (not no-referrer, with which Chromium
//     sends "Origin: null" on form posts), Cache-Control: no-store except for static assets.
//
// # API (GET unless said; JSON; errors are {"error": "..."}, 400 names the bad parameter)
//
// Periods: period=today|yesterday|last7|last30|month|last_month|year, or from=YYYY-MM-DD&to=...
// (local dates of site.time_zone, both included); default today. Unknown parameters are a 400.
// caller and tracking_number are read as the config's numbers are (edge/phone: E.164, a number
// without a country code in site.region): caller=2125550100 finds +12125550100. A caller that is
// no phone number but digits (an extension) is matched as written; anything else is a 400.
//
//	/api/v1/live                  live status (LiveStatus); session or token
//	/api/v1/events                Server-Sent Events: every live.Event (event: call|agent|queue|status)
//	/api/v1/calls                 CallPage; period, source, outcome (comma list, or "blocked"),
//	                              caller, queue, agent, line, tracking_number,
//	                              sort=arrived|wait|talk|outcome|source, order=desc|asc,
//	                              limit (1..500, default 50), offset
//	/api/v1/calls.csv             the same filters, every matching call (at most 200,000), one a row
//	/api/v1/calls/{id}            CallDetail: the record and its journal
//	PUT /api/v1/calls/{id}/tags   TagRequest {lead: true|false|null, converted, revenue: "12.50"
//	                              or revenue_cents, notes}; journals who (the user) and when
//	/api/v1/calls/{id}/recording  the WAV (range requests); ?download=1 as an attachment
//	/api/v1/metrics               MetricsAnswer: the engine's Report and its named figures; period,
//	                              tracking_number, source, campaign, medium, queue, agent, line
//	/api/v1/metrics/waits         WaitHistogram: finished calls by wait
//	/api/v1/abandoned             LostList of abandoned calls by caller: call-back number,
//	/api/v1/blocked               attempts, outcomes, whether a later call got through
//	/metrics                      Prometheus: ringside_calls_total{outcome,source} (since start),
//	                              ringside_queue_waiting, ringside_queue_longest_wait_seconds,
//	                              ringside_calls_live{state}, ringside_agents{state}, Go and
//	                              process metrics. Session or basic auth with the admin account,
//	                              unless web.metrics_auth is false.
//	/healthz                      "ok", or 503 and the failing problems; no auth
//
// # Standards
//
// RFC 9110 (HTTP semantics; range requests §14 through http.ServeContent), RFC 6265bis
// (SameSite cookies), the WHATWG HTML Living Standard §9.2 (Server-Sent Events), W3C CSP Level 3,
// RFC 4180 (CSV), OpenAPI 3.0.3, the Prometheus text exposition format.
package web
