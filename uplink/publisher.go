package uplink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Defaults applied by New to zero fields of Config.
const (
	// DefaultInFlight bounds the QoS 1 messages sent and not yet acknowledged; 32 keeps a 4G link
	// busy (32 x ~1 KiB in flight) while a reconnect resends at most that many duplicates.
	DefaultInFlight = 32
	// DefaultKeepalive makes the broker notice a dead box (and publish its will) within 1.5 x 30 s.
	DefaultKeepalive = 30 * time.Second
	// DefaultConnectTimeout bounds one TCP+TLS+CONNECT attempt on a slow link.
	DefaultConnectTimeout = 15 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the wait between reconnect attempts: quick after a
	// blip, and no more than one attempt every two minutes (with jitter) against a broker that is down
	// or refuses us.
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 2 * time.Minute
	// DefaultPollInterval is how often an empty outbox is read again when nobody calls Kick.
	DefaultPollInterval = 2 * time.Second
	// DefaultStatusInterval is how often the backlog is counted and, when it changed, the retained
	// status republished.
	DefaultStatusInterval = 10 * time.Second
	// DefaultLiveInterval is the fastest the live gauges are republished: a busy queue changes many
	// times a second, a dashboard needs no more than one update per second.
	DefaultLiveInterval = time.Second
	// DefaultAckBatch is how many acknowledged rows are deleted in one SQLite transaction, and
	// DefaultAckDelay how long an acknowledged row waits for company when traffic is light: one fsync
	// per batch instead of one per message spares an SD card.
	DefaultAckBatch = 256
	DefaultAckDelay = 250 * time.Millisecond
)

// Config is the publisher's connection and pacing. The edge fills it from config.Uplink.
type Config struct {
	Broker   string // tcp://host:1883, ssl://host:8883 (also mqtt, tls, mqtts, ws, wss)
	ClientID string // stable across restarts: the broker keeps the session under it
	Username string
	Password string
	TLS      *tls.Config // for ssl:// brokers; LoadTLS builds one from files; nil uses the system roots

	Topics          Topics
	SiteName        string // human name for Home Assistant
	Version         string // the software version Home Assistant shows; "" for none
	WebURL          string // the appliance's web page, linked from Home Assistant; "" for none
	HomeAssistant   bool
	DiscoveryPrefix string // default DefaultDiscoveryPrefix

	RatePerSec int // messages per second drained from the outbox; 0 means no cap
	InFlight   int // QoS 1 messages awaiting PUBACK; default DefaultInFlight

	Keepalive      time.Duration
	ConnectTimeout time.Duration
	BackoffMin     time.Duration
	BackoffMax     time.Duration
	PollInterval   time.Duration
	StatusInterval time.Duration
	LiveInterval   time.Duration
	AckBatch       int
	AckDelay       time.Duration
}

func (c *Config) applyDefaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.InFlight == 0 {
		c.InFlight = DefaultInFlight
	}
	if c.AckBatch == 0 {
		c.AckBatch = DefaultAckBatch
	}
	if c.DiscoveryPrefix == "" {
		c.DiscoveryPrefix = DefaultDiscoveryPrefix
	}
	set(&c.Keepalive, DefaultKeepalive)
	set(&c.ConnectTimeout, DefaultConnectTimeout)
	set(&c.BackoffMin, DefaultBackoffMin)
	set(&c.BackoffMax, DefaultBackoffMax)
	set(&c.PollInterval, DefaultPollInterval)
	set(&c.StatusInterval, DefaultStatusInterval)
	set(&c.LiveInterval, DefaultLiveInterval)
	set(&c.AckDelay, DefaultAckDelay)
}

func (c *Config) validate() error {
	u, err := url.Parse(c.Broker)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: uplink.broker: want a URL such as tcp://broker:1883, got %q", ErrConfig, c.Broker)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return fmt.Errorf("%w: uplink.broker: scheme %q", ErrConfig, u.Scheme)
	}
	if c.ClientID == "" || len(c.ClientID) > 65535 {
		return fmt.Errorf("%w: uplink.client_id: a stable client id is required", ErrConfig)
	}
	if err := c.Topics.Validate(); err != nil {
		return err
	}
	switch {
	case c.InFlight < 1 || c.InFlight > 65535:
		return fmt.Errorf("%w: uplink.in_flight %d: want 1..65535 (MQTT packet ids)", ErrConfig, c.InFlight)
	case c.RatePerSec < 0:
		return fmt.Errorf("%w: uplink.rate_per_sec %d: must not be negative", ErrConfig, c.RatePerSec)
	case c.BackoffMin > c.BackoffMax:
		return fmt.Errorf("%w: backoff minimum %s above maximum %s", ErrConfig, c.BackoffMin, c.BackoffMax)
	case c.AckBatch < 1:
		return fmt.Errorf("%w: ack batch %d", ErrConfig, c.AckBatch)
	}
	return nil
}

// State is the uplink's condition, for the LEDs, the web page and the status topic.
type State string

// The uplink states.
const (
	StateConnecting  State = "connecting"
	StateConnected   State = "connected"
	StateOffline     State = "offline"      // broker unreachable, or the connection dropped
	StateAuthRefused State = "auth_refused" // the broker refused the credentials
	StateTLSFailed   State = "tls_failed"   // the TLS handshake failed
	StateStopped     State = "stopped"      // Run has returned
)

// Status is a snapshot of the publisher.
type Status struct {
	State     State
	Err       error     // why the last attempt or connection failed; nil while connected
	Since     time.Time // when State began
	Backlog   int64     // rows waiting in the outbox (counted every StatusInterval, less acks since)
	Oldest    time.Time // creation time of the oldest waiting row
	LastSeq   int64     // highest seq the broker acknowledged since the process started
	Delivered int64     // rows acknowledged and deleted since the process started
}

// Publisher drains the outbox to the broker and publishes status, live gauges, rollups and Home
// Assistant discovery. Create it with New, run it with Run; the other methods are safe to call from
// any goroutine at any time.
type Publisher struct {
	cfg    Config
	ob     Outbox
	log    *slog.Logger
	clk    Clock
	rnd    *rand.Rand // used by the Run goroutine only
	bucket *bucket    // used by the drain goroutine only (one at a time)
	disc   []Discovery

	kick  chan struct{}
	birth chan struct{}
	liveC chan struct{}

	mu           sync.Mutex
	st           Status
	live         *Live
	liveDirty    bool
	rollups      []Rollup
	rollupsDirty bool
}

// New checks cfg (applying the Default constants to zero fields) and builds a Publisher. rnd
// supplies the reconnect jitter; it must not be shared with other goroutines.
func New(cfg Config, ob Outbox, log *slog.Logger, clk Clock, rnd *rand.Rand) (*Publisher, error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if ob == nil || log == nil || clk == nil || rnd == nil {
		return nil, fmt.Errorf("%w: outbox, logger, clock and random source are required", ErrConfig)
	}
	p := &Publisher{
		cfg: cfg, ob: ob, log: log, clk: clk, rnd: rnd,
		bucket: newBucket(clk, cfg.RatePerSec),
		kick:   make(chan struct{}, 1), birth: make(chan struct{}, 1), liveC: make(chan struct{}, 1),
	}
	if cfg.HomeAssistant {
		d, err := DiscoveryMessages(cfg.DiscoveryPrefix, cfg.Topics, HADevice{SiteName: cfg.SiteName, Version: cfg.Version, WebURL: cfg.WebURL})
		if err != nil {
			return nil, err
		}
		p.disc = d
	}
	p.st = Status{State: StateConnecting, Since: clk.Now()}
	return p, nil
}

// Kick tells the publisher that new rows are in the outbox, so it need not wait for its next poll.
// It never blocks.
func (p *Publisher) Kick() { notify(p.kick) }

// SetLive records the current queue gauges; they are published (retained, QoS 0) at most once per
// LiveInterval and only when a gauge changed, and again at each connect and whenever Home Assistant
// restarts. Call it as often as the queue changes.
func (p *Publisher) SetLive(l Live) {
	l.V = ContractVersion
	l.At = l.At.UTC()
	p.mu.Lock()
	changed := p.live == nil || !sameGauges(*p.live, l)
	p.live = &l
	p.liveDirty = p.liveDirty || changed
	p.mu.Unlock()
	if changed {
		notify(p.liveC)
	}
}

// sameGauges compares two live snapshots, ignoring when they were taken.
func sameGauges(a, b Live) bool {
	a.At, b.At = time.Time{}, time.Time{}
	return a == b
}

// SetRollups replaces the set of rollups to publish (QoS 1, not retained); the set is sent once per
// change and again after each reconnect. Keep it small: the current hour and today's sources.
func (p *Publisher) SetRollups(rs []Rollup) {
	cp := make([]Rollup, len(rs))
	for i, r := range rs {
		r.V = ContractVersion
		r.Site, r.Device = p.cfg.Topics.Site, p.cfg.Topics.Device
		cp[i] = r
	}
	p.mu.Lock()
	p.rollups, p.rollupsDirty = cp, true
	p.mu.Unlock()
}

// Status returns the current state, for the LEDs and the web page.
func (p *Publisher) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (p *Publisher) setState(s State, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.State != s {
		p.st.Since = p.clk.Now()
	}
	p.st.State, p.st.Err = s, err
}

// Run connects, drains and reconnects until ctx ends; then it publishes an offline status,
// disconnects and returns nil. Call it once.
func (p *Publisher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	bctx, cancel := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.countBacklog(bctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
		p.setState(StateStopped, nil)
	}()

	// The state stays at the last failure (auth_refused, tls_failed, offline) while retrying, so the
	// LEDs and the web page show why, not a flicker of "connecting".
	var lastFail State
	for attempt := 0; ; {
		if ctx.Err() != nil {
			return nil
		}
		c, err := p.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			st, werr := classify(err)
			p.setState(st, werr)
			d := backoff(attempt, p.cfg.BackoffMin, p.cfg.BackoffMax, p.rnd.Float64())
			attempt++
			level := slog.LevelWarn
			if st != lastFail { // a new kind of failure is an error; its repetitions are warnings
				level = slog.LevelError
			}
			lastFail = st
			p.log.Log(ctx, level, "uplink: cannot connect; the backlog is kept", "broker", p.cfg.Broker, "state", st, "err", werr, "retry_in", d)
			if !p.sleep(ctx, d) {
				return nil
			}
			continue
		}
		lastFail = ""
		connectedAt := p.clk.Now()
		p.setState(StateConnected, nil)
		p.log.Info("uplink: connected", "broker", p.cfg.Broker, "client_id", p.cfg.ClientID)
		err = p.session(ctx, c)
		if ctx.Err() != nil {
			p.goodbye(c)
			return nil
		}
		c.cl.Disconnect(0)
		p.setState(StateOffline, err)
		// A connection that held for a while starts the backoff again; one that drops at once (a
		// second box with our client id, a row the broker refuses) keeps climbing, so a flapping
		// broker is not hammered.
		if p.clk.Now().Sub(connectedAt) >= stableConnection {
			attempt = 0
		}
		d := backoff(attempt, p.cfg.BackoffMin, p.cfg.BackoffMax, p.rnd.Float64())
		attempt++
		p.log.Warn("uplink: connection lost; resending from the oldest unacknowledged row", "err", err, "retry_in", d)
		if !p.sleep(ctx, d) {
			return nil
		}
	}
}

// stableConnection is how long a connection must last for the reconnect backoff to start again
// from BackoffMin.
const stableConnection = 30 * time.Second

func (p *Publisher) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-p.clk.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// classify maps a connect error to a state and wraps it with the matching sentinel.
func classify(err error) (State, error) {
	var (
		verr  *tls.CertificateVerificationError
		uerr  x509.UnknownAuthorityError
		herr  x509.HostnameError
		ierr  x509.CertificateInvalidError
		aerr  tls.AlertError
		rerr  tls.RecordHeaderError
		rperr *tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return StateAuthRefused, fmt.Errorf("%w: %w", ErrAuthRefused, err)
	case errors.As(err, &verr), errors.As(err, &uerr), errors.As(err, &herr), errors.As(err, &ierr),
		errors.As(err, &aerr), errors.As(err, &rerr), errors.As(err, &rperr):
		return StateTLSFailed, fmt.Errorf("%w: %w", ErrTLS, err)
	case isTLSAlert(err):
		return StateTLSFailed, fmt.Errorf("%w: %w", ErrTLS, err)
	}
	return StateOffline, fmt.Errorf("%w: %w", ErrConnect, err)
}

// isTLSAlert reports an alert received from or sent to the TLS peer: crypto/tls reports those on a
// TCP connection as a *net.OpError with Op "remote error" or "local error" around its unexported
// alert type (for instance the broker's "certificate required" when no client certificate was sent).
func isTLSAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && (op.Op == "remote error" || op.Op == "local error")
}

// conn is one MQTT connection: a fresh paho client per connection, so no token of an earlier
// connection can be mistaken for a delivery on this one.
type conn struct {
	cl      mqtt.Client
	lost    chan struct{}
	mu      sync.Mutex
	lostErr error
}

func (c *conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lostErr
}

func (p *Publisher) connect(ctx context.Context) (*conn, error) {
	c := &conn{lost: make(chan struct{})}
	var once sync.Once
	o := mqtt.NewClientOptions().
		AddBroker(p.cfg.Broker).
		SetClientID(p.cfg.ClientID).
		// [MQTT-3.1.2-4] a persistent session under a stable id: the broker keeps our subscriptions
		// (Home Assistant's birth) while we are away.
		SetCleanSession(false).
		SetUsername(p.cfg.Username).
		SetPassword(p.cfg.Password).
		SetKeepAlive(p.cfg.Keepalive).
		SetConnectTimeout(p.cfg.ConnectTimeout).
		SetWriteTimeout(p.cfg.ConnectTimeout).
		SetProtocolVersion(4). // no silent fallback to 3.1
		SetAutoReconnect(false).
		SetConnectRetry(false).
		// The outbox is the store; paho's memory store only holds this connection's in-flight set.
		SetStore(mqtt.NewMemoryStore()).
		SetMaxResumePubInFlight(p.cfg.InFlight).
		SetOrderMatters(false).
		// [MQTT-3.1.2-8] the will marks the device offline when the connection dies without DISCONNECT.
		SetBinaryWill(p.cfg.Topics.Abs(TopicStatus), []byte(willPayload), 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			once.Do(func() {
				c.mu.Lock()
				c.lostErr = fmt.Errorf("%w: %w", ErrConnectionLost, err)
				c.mu.Unlock()
				close(c.lost)
			})
		})
	if p.cfg.TLS != nil {
		o.SetTLSConfig(p.cfg.TLS)
	}
	c.cl = mqtt.NewClient(o)
	tok := c.cl.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		<-tok.Done() // bounded by ConnectTimeout
		if tok.Error() == nil {
			c.cl.Disconnect(0)
		}
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	return c, nil
}

type pending struct {
	seq int64
	tok mqtt.Token
}

// session runs one connection: it announces the device, then drains the outbox (drain, collect and
// ack goroutines) while this goroutine publishes status, live gauges, rollups and discovery. It returns
// when the connection is lost, a publish fails, or ctx ends; both goroutines have stopped by then.
func (p *Publisher) session(ctx context.Context, c *conn) error {
	p.publishStatus(c, "online")
	if p.cfg.HomeAssistant {
		c.cl.Subscribe(p.cfg.DiscoveryPrefix+"/status", 1, func(_ mqtt.Client, m mqtt.Message) {
			if online, err := ParseBirth(m.Payload()); err == nil && online {
				notify(p.birth)
			} else if err != nil {
				p.log.Warn("uplink: ignored a Home Assistant status message", "err", err)
			}
		})
		p.announce(c)
	}
	p.publishLive(c, true)
	p.publishRollups(c, true)

	stop := make(chan struct{})
	broken := make(chan error, 2)
	inflight := make(chan pending, p.cfg.InFlight)
	acks := make(chan []int64, 4) // bounded: at most 4 batches wait for their delete
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		p.drain(ctx, c, inflight, stop, broken)
	}()
	go func() {
		defer wg.Done()
		p.collect(inflight, acks, stop, broken)
	}()
	go func() {
		defer wg.Done()
		p.ack(ctx, acks)
	}()

	var err error
	tick := p.clk.After(p.cfg.LiveInterval)
	lastStatus := p.clk.Now()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-c.lost:
			err = c.err()
			break loop
		case err = <-broken:
			break loop
		case <-p.birth:
			p.log.Info("uplink: Home Assistant started; announcing the sensors again")
			p.announce(c)
			p.publishLive(c, true)
			p.publishStatus(c, "online")
		case <-p.liveC:
			// published on the next tick: at most one live message per LiveInterval
		case <-tick:
			tick = p.clk.After(p.cfg.LiveInterval)
			p.publishLive(c, false)
			p.publishRollups(c, false)
			if p.clk.Now().Sub(lastStatus) >= p.cfg.StatusInterval {
				lastStatus = p.clk.Now()
				p.publishStatus(c, "online")
			}
		}
	}
	close(stop)
	wg.Wait()
	return err
}

// drain reads the outbox from the lowest unacknowledged row (seq > 0: every connection starts
// again from the beginning of what is left), paces and publishes. Memory is bounded by the window:
// one page of InFlight rows and InFlight pending tokens, whatever the backlog.
func (p *Publisher) drain(ctx context.Context, c *conn, inflight chan<- pending, stop <-chan struct{}, broken chan<- error) {
	cursor := int64(0)
	for {
		page, err := p.ob.OutboxAfter(ctx, cursor, p.pageSize())
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Error("uplink: cannot read the outbox", "err", err)
			page = nil
		}
		if len(page) == 0 {
			select {
			case <-p.kick:
			case <-p.clk.After(p.cfg.PollInterval):
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
			continue
		}
		for _, e := range page {
			if !p.bucket.wait(ctx, stop) {
				return
			}
			payload, err := StampSeq(e.Payload, e.Seq)
			if err != nil {
				p.log.Error("uplink: outbox row is not a JSON object; sent without seq", "seq", e.Seq, "id", e.ID, "err", err)
				payload = e.Payload
			}
			tok := c.cl.Publish(p.resolve(e.Topic), 1, false, payload)
			select {
			case inflight <- pending{seq: e.Seq, tok: tok}:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
			cursor = e.Seq
		}
	}
}

// collect waits for PUBACKs in send order (the broker acknowledges in order on one connection, so
// waiting on the oldest costs nothing) and hands acknowledged seqs in batches to ack, so that a slow
// fsync does not stall the window. It closes acks when it returns.
func (p *Publisher) collect(inflight <-chan pending, acks chan<- []int64, stop <-chan struct{}, broken chan<- error) {
	defer close(acks)
	batch := make([]int64, 0, p.cfg.AckBatch)
	flush := func() {
		if len(batch) > 0 {
			acks <- batch // never blocks for long: ack drains until acks is closed
			batch = make([]int64, 0, p.cfg.AckBatch)
		}
	}
	defer flush()
	for {
		var timer <-chan time.Time
		if len(batch) > 0 && len(inflight) == 0 {
			timer = p.clk.After(p.cfg.AckDelay)
		}
		var pd pending
		select {
		case pd = <-inflight:
		case <-timer:
			flush()
			continue
		case <-stop:
			return
		}
		select {
		case <-pd.tok.Done():
		case <-stop:
			return
		}
		if err := pd.tok.Error(); err != nil {
			broken <- fmt.Errorf("%w: publish of seq %d: %w", ErrConnectionLost, pd.seq, err)
			return
		}
		batch = append(batch, pd.seq)
		if len(batch) >= p.cfg.AckBatch {
			flush()
		}
	}
}

// ack deletes acknowledged rows, one transaction per batch, until acks is closed.
func (p *Publisher) ack(ctx context.Context, acks <-chan []int64) {
	for batch := range acks {
		// Owner: ack. The deletes run even when ctx has ended (Run is stopping), with their own
		// deadline: a delete that is skipped costs a duplicate after restart, never a loss.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err := p.ob.OutboxAck(fctx, batch...)
		cancel()
		if err != nil {
			p.log.Error("uplink: cannot delete acknowledged rows; they will be sent again", "rows", len(batch), "err", err)
			continue
		}
		p.mu.Lock()
		p.st.Delivered += int64(len(batch))
		p.st.Backlog = max(0, p.st.Backlog-int64(len(batch)))
		p.st.LastSeq = max(p.st.LastSeq, batch[len(batch)-1])
		p.mu.Unlock()
	}
}

// resolve turns a stored topic into the one to publish on: a relative topic ("call", as
// Encoder.Call stores it) goes under the device's base; a topic already under the base is kept;
// an empty one is the call topic.
func (p *Publisher) resolve(stored string) string {
	base := p.cfg.Topics.Base() + "/"
	switch {
	case stored == "":
		return base + TopicCall
	case strings.HasPrefix(stored, base):
		return stored
	}
	return base + stored
}

// pageSize is how many rows drain reads at once: the window, but at least 128 so a small window
// does not cost a query per handful of messages. Memory stays bounded by it, not by the backlog.
func (p *Publisher) pageSize() int { return max(p.cfg.InFlight, 128) }

// countBacklog refreshes Status.Backlog every StatusInterval, connected or not.
func (p *Publisher) countBacklog(ctx context.Context) {
	for {
		n, oldest, err := p.ob.OutboxBacklog(ctx)
		if err == nil {
			p.mu.Lock()
			p.st.Backlog, p.st.Oldest = n, oldest
			p.mu.Unlock()
		} else if ctx.Err() == nil {
			p.log.Error("uplink: cannot count the outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.clk.After(p.cfg.StatusInterval):
		}
	}
}

func (p *Publisher) statusPayload(state string) []byte {
	st := p.Status()
	sp := StatusPayload{V: ContractVersion, State: state, Uplink: st.State, Backlog: st.Backlog, Oldest: st.Oldest,
		LastSeq: st.LastSeq, At: p.clk.Now().UTC()}
	if st.State == StateConnected {
		sp.Since = st.Since.UTC()
	}
	b, _ := json.Marshal(sp) // plain struct: cannot fail
	return b
}

// publishStatus sends the retained status (QoS 1); it does not wait for the PUBACK.
func (p *Publisher) publishStatus(c *conn, state string) mqtt.Token {
	return c.cl.Publish(p.cfg.Topics.Abs(TopicStatus), 1, true, p.statusPayload(state))
}

func (p *Publisher) announce(c *conn) {
	for _, d := range p.disc {
		c.cl.Publish(d.Topic, 1, true, d.Payload)
	}
}

func (p *Publisher) publishLive(c *conn, force bool) {
	p.mu.Lock()
	l, dirty := p.live, p.liveDirty
	p.liveDirty = false
	p.mu.Unlock()
	if l == nil || !(dirty || force) {
		return
	}
	b, _ := json.Marshal(l)
	c.cl.Publish(p.cfg.Topics.Abs(TopicLive), 0, true, b)
}

func (p *Publisher) publishRollups(c *conn, force bool) {
	p.mu.Lock()
	rs, dirty := p.rollups, p.rollupsDirty
	p.rollupsDirty = false
	p.mu.Unlock()
	if !(dirty || force) {
		return
	}
	for _, r := range rs {
		topic := TopicRollupHour
		if r.Kind == "source" {
			topic = TopicRollupSource
		}
		b, err := json.Marshal(r)
		if err != nil {
			p.log.Error("uplink: cannot encode a rollup", "kind", r.Kind, "err", err)
			continue
		}
		c.cl.Publish(p.cfg.Topics.Abs(topic), 1, false, b)
	}
}

// goodbye publishes the offline status and disconnects cleanly (so the broker discards the will).
// Owner: Run, when ctx has ended; bounded by two seconds.
func (p *Publisher) goodbye(c *conn) {
	p.setState(StateStopped, nil)
	tok := p.publishStatus(c, "offline")
	tok.WaitTimeout(2 * time.Second)
	c.cl.Disconnect(250)
	p.log.Info("uplink: disconnected")
}

// LoadTLS builds a TLS configuration from PEM files: caFile (empty: the system roots), and an
// optional client certificate and key.
func LoadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%w: uplink.ca_file: %w", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: uplink.ca_file %s: no PEM certificate", ErrConfig, caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%w: uplink.cert_file and uplink.key_file go together", ErrConfig)
	}
	if certFile != "" {
		certPEM, err := os.ReadFile(certFile)
		if err != nil {
			return nil, fmt.Errorf("%w: uplink.cert_file: %w", ErrConfig, err)
		}
		keyPEM, err := os.ReadFile(keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: uplink.key_file: %w", ErrConfig, err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("%w: uplink.cert_file/key_file: %w", ErrConfig, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
