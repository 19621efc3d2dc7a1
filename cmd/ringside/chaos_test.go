package main

import (
	"context"
	le "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ringside/ringside/edge/config"
	"github.com/ringside/ringside/edge/store"
	"github.com/ringside/ringside/telephony/siptest"
	"github.com/ringside/ringside/telephony/softphone"
	"github.com/ringside/ringside/uplink/uplinktest"
)

// The chaos run's addresses: callers come from the trusted trunk, the agents' phones (one sipp
// UAS) from theirs, the scanner from its own.
const (
	chaosTrunkIP   = "127.0.0.5"
	chaosAgentIP   = "127.0.0.6"
	chaosScannerIP = "127.0.0.2"
	chaosAgents    = 20
	chaosNumber    = "+12125550101"
	// chaosDiskMB is the tmpfs holding the state directory; the recordings' quota is half of it,
	// so only the filler fills it.
	chaosDiskMB = 256
)

const chaosConfig = `
site: {name: Chaos Dental, device: box1, time_zone: UTC, region: US}
state_dir: %s
sip: {listen: ["udp:127.0.0.1:%d"], rtp_port_min: %d, rtp_port_max: %d}
lines: [{id: trunk, kind: sip_trunk, addresses: ["` + chaosTrunkIP + `/32"], max_calls: 200}]
tracking_numbers: [{number: "+1 212 555 0101", source: direct, queue: desk}]
queues: [{name: desk, strategy: longest_idle, members: [%s], max_callers: 200, max_wait: 1m, ring_timeout: 20s}]
agents: [%s]
recording: {enabled: true, low_disk_mb: 1, quota_mb: %d}
uplink: {enabled: true, broker: %s, client_id: ringside-chaos, caller_number: full, rate_per_sec: 1000}
web: {listen: "127.0.0.1:0"}
leds: {simulated: true}
`

// chaosKnobs are the run's bounds, from the environment; the defaults are the short CI run.
type chaosKnobs struct {
	kills, brokerRestarts, diskFills int
	seconds                          time.Duration // cap on the kill phase
	callRate                         int           // calls a second during the kill phase
	scannerRate                      int           // hostile requests a second, all run long
	calmCalls, calmRate              int           // legitimate calls under the scanner, no kills
}

func chaosEnv(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a count", name, s)
	}
	return n
}

func readChaosKnobs(t *testing.T) chaosKnobs {
	k := chaosKnobs{
		kills:          chaosEnv(t, "RINGSIDE_CHAOS_KILLS", 6),
		brokerRestarts: chaosEnv(t, "RINGSIDE_CHAOS_BROKER_RESTARTS", 2),
		diskFills:      chaosEnv(t, "RINGSIDE_CHAOS_DISK_FILLS", 1),
		seconds:        time.Duration(chaosEnv(t, "RINGSIDE_CHAOS_SECONDS", 60)) * time.Second,
		callRate:       chaosEnv(t, "RINGSIDE_CHAOS_CALL_RATE", 5),
		scannerRate:    chaosEnv(t, "RINGSIDE_CHAOS_SCANNER_RATE", 150),
		calmCalls:      chaosEnv(t, "RINGSIDE_CHAOS_CALM_CALLS", 100),
		calmRate:       chaosEnv(t, "RINGSIDE_CHAOS_CALM_RATE", 10),
	}
	return k
}

// TestChaos runs the real appliance under sipp calls, with recording and the uplink to a real
// mosquitto, and does, bounded in count and time: SIGKILL at random moments, broker restarts and
// outages, a disk (a small tmpfs holding the state directory) that fills, and a scanner at 150
// requests/s. Then it reconciles: every call sipp saw answered has a record, every record has one
// summary on MQTT (duplicates counted apart), every recording's header is valid; and, in a calm
// phase without kills but with the scanner, the share of legitimate calls that succeed, and
// whether any trusted source was banned. The default is the short CI run; the long run is
//
//	RINGSIDE_CHAOS_KILLS=1000 RINGSIDE_CHAOS_BROKER_RESTARTS=100 RINGSIDE_CHAOS_DISK_FILLS=20 \
//	RINGSIDE_CHAOS_SECONDS=2400 RINGSIDE_CHAOS_CALM_CALLS=2000 go test ./cmd/ringside -run TestChaos -timeout 70m -v -count=1
//
// (about 19 minutes of kills and 4 of calm calls on the 2-core box).
//
// Asserted: the counts of kills, restarts and fills ran, 0 answered calls without a record (also
// while the disk was full), 0 records without a summary, 0 invalid recordings, >= 99.9 % of calm
// calls succeed and no trusted source banned.
func TestChaos(t *testing.T) {
	siptest.NeedTool(t, "sipp")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("TestChaos mounts a tmpfs: run it as root")
		}
		t.Skip("TestChaos mounts a tmpfs: needs root")
	}
	k := readChaosKnobs(t)
	c := newChaos(t, k)
	c.run()
	c.reconcile()
}

// chaos holds one run: its processes, its counters and what it saw.
type chaos struct {
	t       *testing.T
	k       chaosKnobs
	dir     string
	state   string // the tmpfs mount: the appliance's state_dir
	cfgPath string
	sipAddr string
	broker  *uplinktest.Mosquitto
	sub     *uplinktest.Subscriber
	reg     *softphone.Phone
	uasPort int
	d       *daemon
	rng     *rand.Rand

	kills, brokerRestarts, diskFills, startFailures, selfExits int
	bans                                                       map[string]int // banned address -> times
	scannerSent                                                atomic.Int64
	fullFrom                                                   []time.Time // disk-full windows: [from, to) pairs
	uacDir, calmDir, audio                                     string
	killPhase                                                  time.Duration
	killedAt, readyAt                                          []time.Time // when each SIGKILL was sent, each start was ready
}

func newChaos(t *testing.T, k chaosKnobs) *chaos {
	c := &chaos{t: t, k: k, dir: t.TempDir(), bans: map[string]int{}, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))}
	c.state = filepath.Join(c.dir, "state")
	// The callers' voice: a second of mu-law tone that sipp streams in a loop, so every call is recorded.
	c.audio = filepath.Join(c.dir, "voice.wav")
	if out, err := exec.Command(siptest.NeedTool(t, "sox"), "-n", "-r", "8000", "-c", "1", "-e", "mu-law", c.audio, "synth", "1", "sine", "440").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	if err := os.Mkdir(c.state, 0o700); err != nil {
		t.Fatal(err)
	}
	// A small disk of its own, so the run can fill it; always unmounted, after the daemon is gone
	// (cleanups run last-in first-out: this one runs after the daemons' kills).
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", chaosDiskMB), "tmpfs", c.state).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", c.state).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", c.state, err, out)
			_ = exec.Command("umount", "-l", c.state).Run()
		}
	})
	c.broker = uplinktest.StartMosquitto(t, uplinktest.BrokerOptions{})
	c.sub = uplinktest.Subscribe(t, c.broker.URL(), "chaos-dashboard", uplinktest.SubscriberOptions{}, "ringside/v1/chaos-dental/box1/call")

	port := freeUDPPort(t)
	rtp := 20000 + (port%1000)*20
	var members, agents []string
	for i := range chaosAgents {
		members = append(members, fmt.Sprintf("{agent: a%d}", i))
		agents = append(agents, fmt.Sprintf("{id: a%d, username: a%d, password: sip-secret-a%d}", i, i, i))
	}
	body := fmt.Sprintf(chaosConfig, c.state, port, rtp, rtp+2000, strings.Join(members, ", "), strings.Join(agents, ", "),
		chaosDiskMB/2, c.broker.URL())
	c.cfgPath = filepath.Join(c.dir, "ringside.yaml")
	if err := os.WriteFile(c.cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c.sipAddr = "127.0.0.1:" + strconv.Itoa(port)
	reg, err := softphone.New(chaosAgentIP, "a0", "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	c.reg = reg
	return c
}

// start runs a daemon and registers the agents (the registrar forgets them at each start). It
// reports false when the daemon did not become ready (it died, or the disk is full).
func (c *chaos) start() bool {
	c.t.Helper()
	c.d = startDaemon(c.t, c.cfgPath)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.d.logString(), "is ready") {
		if time.Now().After(deadline) || exited(c.d) {
			c.startFailures++
			logs := c.d.logString()
			c.t.Logf("daemon not ready:\n%s", logs[max(0, len(logs)-2000):])
			c.stop(syscall.SIGKILL)
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.readyAt = append(c.readyAt, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	contact := netip.AddrPortFrom(netip.MustParseAddr(chaosAgentIP), uint16(c.uasPort))
	for i := range chaosAgents {
		c.reg.User, c.reg.Pass = fmt.Sprintf("a%d", i), fmt.Sprintf("sip-secret-a%d", i)
		if code, err := c.reg.RegisterFor(ctx, c.sipAddr, contact, 3600); err != nil || code != 200 {
			c.t.Logf("register a%d: %d %v", i, code, err) // counted by the calls that then fail
		}
	}
	return true
}

// stop ends the daemon with sig and notes the bans its log reports.
func (c *chaos) stop(sig syscall.Signal) {
	if c.d == nil {
		return
	}
	if c.d.cmd.ProcessState == nil {
		_ = c.d.cmd.Process.Signal(sig)
		_ = c.d.cmd.Wait()
	}
	for _, m := range banLine.FindAllStringSubmatch(c.d.logString(), -1) {
		c.bans[m[1]]++
	}
	c.d = nil
}

// exited reports whether the daemon has died (a zombie waiting for Wait).
func exited(d *daemon) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

var banLine = regexp.MustCompile(`msg="source banned".*? addr=(\S+)`)

// fill writes zeros to a file on the tmpfs until the disk is full.
func (c *chaos) fill() {
	f, err := os.Create(filepath.Join(c.state, "filler"))
	if err != nil {
		c.t.Logf("fill: %v", err) // the disk may already be full
		return
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				c.t.Fatalf("fill: %v", err)
			}
			return
		}
	}
}

func (c *chaos) free() {
	if err := os.Remove(filepath.Join(c.state, "filler")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.t.Fatal(err)
	}
}

// scanner sends hostile SIP from its own address at rate requests a second until ctx ends:
// OPTIONS probes and REGISTERs guessing extensions and passwords, as SIPVicious does.
func (c *chaos) scanner(ctx context.Context, rate int) {
	if rate == 0 {
		return
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(chaosScannerIP)})
	if err != nil {
		c.t.Errorf("scanner: %v", err)
		return
	}
	defer conn.Close()
	go io.Copy(io.Discard, conn) // replies, until banned
	dst, _ := net.ResolveUDPAddr("udp", c.sipAddr)
	local := conn.LocalAddr().String()
	tk := time.NewTicker(time.Second / time.Duration(rate))
	defer tk.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		ext := 100 + i%900
		var msg string
		if i%2 == 0 {
			msg = fmt.Sprintf("OPTIONS sip:%d@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-scan%d\r\n"+
				"From: <sip:%d@%s>;tag=s%d\r\nTo: <sip:%d@%s>\r\nCall-ID: scan%d\r\nCSeq: 1 OPTIONS\r\n"+
				"Max-Forwards: 70\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n",
				ext, c.sipAddr, local, i, ext, c.sipAddr, i, ext, c.sipAddr, i)
		} else {
			msg = fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-scan%d\r\n"+
				"From: <sip:%d@%s>;tag=s%d\r\nTo: <sip:%d@%s>\r\nCall-ID: scan%d\r\nCSeq: 1 REGISTER\r\n"+
				"Contact: <sip:%d@%s>\r\nAuthorization: Digest username=\"%d\", realm=\"ringside\", nonce=\"x%d\", "+
				"uri=\"sip:%s\", response=\"%032x\"\r\nExpires: 60\r\nMax-Forwards: 70\r\nUser-Agent: friendly-scanner\r\n"+
				"Content-Length: 0\r\n\r\n",
				c.sipAddr, local, i, ext, c.sipAddr, i, ext, c.sipAddr, i, ext, local, ext, i, c.sipAddr, i)
		}
		if _, err := conn.WriteToUDP([]byte(msg), dst); err == nil {
			c.scannerSent.Add(1)
		}
	}
}

// callers writes n distinct caller numbers for sipp's -inf file: the record of a call is found
// by its caller number.
func (c *chaos) callers(name string, first, n int) string {
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	for i := range n {
		fmt.Fprintf(&b, "+1646%07d\n", first+i)
	}
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// startCallers runs a sipp UAC placing at most n calls at rate a second, each staying 1 s.
func (c *chaos) startCallers(name string, first, n, rate int, timeout time.Duration) (*siptest.Sipp, string) {
	dir := filepath.Join(c.dir, name)
	if err := os.Mkdir(dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	sc := siptest.Scenario(c.t, "testdata/sipp/chaos_caller.xml", dir, map[string]string{"AUDIO": c.audio})
	s := siptest.StartSipp(c.t, dir, timeout, c.sipAddr, "-sf", sc, "-inf", c.callers(name+".csv", first, n),
		"-i", chaosTrunkIP, "-p", strconv.Itoa(freeUDPPort(c.t)), "-mp", strconv.Itoa(freeUDPPort(c.t)),
		"-s", chaosNumber, "-r", strconv.Itoa(rate), "-m", strconv.Itoa(n), "-l", "500", "-d", "1000",
		"-recv_timeout", "8000", "-nostdin", "-trace_logs")
	return s, dir
}

// quitSipp asks sipp to stop placing calls and to end once its calls are over (SIGUSR1), then kills
// it after grace.
func quitSipp(s *siptest.Sipp, grace time.Duration) {
	s.Signal(syscall.SIGUSR1)
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.Stop()
		<-done
	}
}

func (c *chaos) run() {
	t, k := c.t, c.k
	// The agents' phones: one sipp UAS answering after 100 ms, for every agent, all run long.
	uasDir := filepath.Join(c.dir, "uas")
	if err := os.Mkdir(uasDir, 0o700); err != nil {
		t.Fatal(err)
	}
	c.uasPort = freeUDPPort(t)
	sc := siptest.Scenario(t, "../../telephony/pbx/testdata/sipp/agent.xml", uasDir, map[string]string{"ANSWER_MS": "100"})
	uas := siptest.StartSipp(t, uasDir, 2*time.Hour, "-sf", sc, "-i", chaosAgentIP, "-p", strconv.Itoa(c.uasPort),
		"-mp", strconv.Itoa(freeUDPPort(t)), "-nostdin", "-recv_timeout", "30000")
	defer uas.Stop()

	sctx, stopScanner := context.WithCancel(context.Background())
	var swg sync.WaitGroup
	swg.Go(func() { c.scanner(sctx, k.scannerRate) })
	defer func() { stopScanner(); swg.Wait() }()

	// Kill phase: calls at callRate all along; each cycle starts the daemon, lets it serve for a
	// random 0.2 to 1.5 s, and kills it with SIGKILL. Broker restarts, outages and disk fills are
	// spread over the cycles.
	maxCalls := k.callRate*int(k.seconds/time.Second) + 100
	uac, uacDir := c.startCallers("chaos", 0, maxCalls, k.callRate, k.seconds+time.Minute)
	c.uacDir = uacDir
	brokerEvery := every(k.kills, k.brokerRestarts)
	fillEvery := every(k.kills, k.diskFills)
	brokerDownUntil, diskFullUntil, failedInARow := -1, -1, 0
	t0 := time.Now()
	for i := 0; c.kills < k.kills && time.Since(t0) < k.seconds; i++ {
		if brokerEvery > 0 && i%brokerEvery == brokerEvery/2 && c.brokerRestarts < k.brokerRestarts && brokerDownUntil < 0 {
			if c.brokerRestarts%2 == 0 {
				c.broker.Restart() // a restart
				c.brokerRestarts++
			} else {
				c.broker.Stop() // an outage over two cycles
				brokerDownUntil = i + 2
			}
		}
		if i == brokerDownUntil {
			c.broker.Start()
			c.brokerRestarts++
			brokerDownUntil = -1
		}
		if fillEvery > 0 && i%fillEvery == fillEvery/2 && c.diskFills < k.diskFills && diskFullUntil < 0 {
			c.fill()
			c.fullFrom = append(c.fullFrom, time.Now())
			c.diskFills++
			diskFullUntil = i + 3
		}
		if i == diskFullUntil {
			c.free()
			c.fullFrom = append(c.fullFrom, time.Now())
			diskFullUntil = -1
		}
		if !c.start() {
			// A full disk may keep it from starting; with room again, three failures in a row
			// mean the state on disk keeps it down for good.
			if failedInARow++; diskFullUntil < 0 && failedInARow >= 3 {
				t.Fatalf("the daemon no longer starts after %d kills (see its log above)", c.kills)
			}
			continue
		}
		failedInARow = 0
		time.Sleep(200*time.Millisecond + time.Duration(c.rng.Int64N(int64(1300*time.Millisecond))))
		if exited(c.d) {
			c.selfExits++
		}
		c.killedAt = append(c.killedAt, time.Now())
		c.stop(syscall.SIGKILL)
		c.kills++
		if c.kills%50 == 0 {
			t.Logf("%d kills, %d broker restarts, %d disk fills in %v", c.kills, c.brokerRestarts, c.diskFills, time.Since(t0).Round(time.Second))
		}
	}
	c.killPhase = time.Since(t0)
	if diskFullUntil >= 0 {
		c.free()
		c.fullFrom = append(c.fullFrom, time.Now())
	}
	if brokerDownUntil >= 0 {
		c.broker.Start()
		c.brokerRestarts++
	}
	// The callers still in a call see it time out; sipp ends when they have.
	if !c.start() {
		t.Fatal("the daemon does not start after the kill phase")
	}
	quitSipp(uac, 30*time.Second)

	// Calm phase: no kills, the scanner still sends; every legitimate call should succeed.
	if k.calmCalls > 0 {
		calm, calmDir := c.startCallers("calm", maxCalls+1000, k.calmCalls, k.calmRate, time.Duration(k.calmCalls/max(k.calmRate, 1))*time.Second+2*time.Minute)
		calm.Wait()
		c.calmDir = calmDir
	}
	stopScanner()
	swg.Wait()

	// Drain: the uplink sends what is left; wait until nothing new arrives for 5 s.
	for last, quietSince, deadline := -1, time.Now(), time.Now().Add(5*time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if n := c.sub.Count(); n != last {
			last, quietSince = n, time.Now()
		} else if time.Since(quietSince) > 5*time.Second {
			break
		}
	}
	c.stop(syscall.SIGTERM)
}

// every spreads n events over cycles: one every cycles/n cycles (0 when n is 0).
func every(cycles, n int) int {
	if n == 0 {
		return 0
	}
	return max(cycles/n, 1)
}

// sippLog reads, from the -trace_logs files in dir, when each caller number first saw its call
// answered, and which numbers saw their hang-up answered (a whole call).
func sippLog(t *testing.T, dir string) (answered map[string]time.Time, done map[string]bool) {
	t.Helper()
	answered, done = map[string]time.Time{}, map[string]bool{}
	logs, _ := filepath.Glob(filepath.Join(dir, "*_logs.log"))
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 5 && f[0] == "answered":
				at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", f[3]+" "+f[4], time.Local)
				if err != nil {
					t.Fatalf("sipp log line %q: %v", line, err)
				}
				if _, ok := answered[f[1]]; !ok {
					answered[f[1]] = at
				}
			case len(f) >= 2 && f[0] == "done":
				done[f[1]] = true
			}
		}
	}
	return answered, done
}

// around places at among the run's events: the last start, the next SIGKILL, the last time the
// disk was freed.
func (c *chaos) around(at time.Time) string {
	last := func(ts []time.Time) (time.Duration, bool) {
		i := sort.Search(len(ts), func(i int) bool { return ts[i].After(at) })
		if i == 0 {
			return 0, false
		}
		return at.Sub(ts[i-1]).Round(time.Millisecond), true
	}
	var b strings.Builder
	if d, ok := last(c.readyAt); ok {
		fmt.Fprintf(&b, "daemon ready %v before", d)
	}
	if i := sort.Search(len(c.killedAt), func(i int) bool { return !c.killedAt[i].Before(at) }); i < len(c.killedAt) {
		fmt.Fprintf(&b, ", SIGKILL %v later", c.killedAt[i].Sub(at).Round(time.Millisecond))
	}
	var freed []time.Time
	for i := 1; i < len(c.fullFrom); i += 2 {
		freed = append(freed, c.fullFrom[i])
	}
	if d, ok := last(freed); ok {
		fmt.Fprintf(&b, ", disk freed %v before", d)
	}
	return b.String()
}

// diskFull reports whether at falls in a disk-full window (or within 2 s after one).
func (c *chaos) diskFull(at time.Time) bool {
	for i := 0; i+1 < len(c.fullFrom); i += 2 {
		if !at.Before(c.fullFrom[i]) && at.Before(c.fullFrom[i+1].Add(2*time.Second)) {
			return true
		}
	}
	return false
}

// checkWAV reports why a recording's header does not describe the file: RIFF and data sizes must
// match the file's length, the format must be 8-bit G.711.
func checkWAV(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	b := make([]byte, 4096)
	n, _ := io.ReadFull(f, b)
	b = b[:n]
	lsb := le.LittleEndian
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return errors.New("no RIFF/WAVE header")
	}
	if riff := int64(lsb.Uint32(b[4:])); riff != st.Size()-8 {
		return fmt.Errorf("RIFF size %d, file %d bytes", riff, st.Size())
	}
	fmtOK := false
	for off := int64(12); off+8 <= int64(len(b)); {
		id, size := string(b[off:off+4]), int64(lsb.Uint32(b[off+4:]))
		switch id {
		case "fmt ":
			if off+8+16 > int64(len(b)) {
				return errors.New("short fmt chunk")
			}
			format, bits := lsb.Uint16(b[off+8:]), lsb.Uint16(b[off+8+14:])
			fmtOK = (format == 6 || format == 7) && bits == 8
		case "data":
			if !fmtOK {
				return errors.New("no 8-bit G.711 fmt chunk before the data")
			}
			if want := st.Size() - (off + 8); size != want && size+1 != want {
				return fmt.Errorf("data size %d, %d bytes follow the header", size, want)
			}
			return nil
		}
		off += 8 + size + size&1
	}
	return errors.New("no data chunk")
}

// reconcile compares what the callers saw, the store, the subscriber and the recordings.
func (c *chaos) reconcile() {
	t, k := c.t, c.k
	answered, _ := sippLog(t, c.uacDir)
	calmAnswered, calmDone := map[string]time.Time{}, map[string]bool{}
	if c.calmDir != "" {
		calmAnswered, calmDone = sippLog(t, c.calmDir)
	}
	cfg, err := config.Load(c.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// The store alone, read-only in spirit: nothing of the appliance may hold the tmpfs busy.
	st, err := store.Open(context.Background(), cfg.StateDir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	byNumber := map[string]int{}
	var ids []string
	unfinished := 0
	for r, err := range st.CallsArrived(context.Background(), time.Now().Add(-24*time.Hour), time.Now().Add(time.Hour)) {
		if err != nil {
			t.Fatal(err)
		}
		byNumber[r.CallerNumber]++
		ids = append(ids, r.ID)
		if !r.Finished() {
			unfinished++
		}
	}
	backlog, _, _ := st.OutboxBacklog(context.Background())

	// Answered calls without a record, apart for those answered while the disk was full.
	var lost, lostFull int
	for _, set := range []map[string]time.Time{answered, calmAnswered} {
		for num, at := range set {
			if byNumber[num] == 0 {
				if c.diskFull(at) {
					lostFull++
				} else {
					lost++
					if lost <= 10 {
						t.Logf("answered at %s without a record: %s (%s)", at.Format("15:04:05.000"), num, c.around(at))
					}
				}
			}
		}
	}
	// Summaries per record id.
	perID := map[string]int{}
	total := 0
	for _, m := range c.sub.Messages() {
		var s struct {
			CallID string `json:"call_id"`
		}
		if err := json.Unmarshal(m.Payload, &s); err != nil {
			t.Errorf("bad summary payload: %v", err)
			continue
		}
		perID[s.CallID]++
		total++
	}
	noSummary := 0
	for _, id := range ids {
		if perID[id] == 0 {
			noSummary++
		}
	}
	duplicates := total - len(perID)
	// Recordings: every file's header, and files set aside as damaged.
	var wavs, invalid int
	err = filepath.WalkDir(filepath.Join(c.state, "recordings"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		wavs++
		if !strings.HasSuffix(path, ".wav") {
			invalid++
			t.Logf("recording left as %s", filepath.Base(path))
			return nil
		}
		if err := checkWAV(path); err != nil {
			invalid++
			t.Logf("invalid recording %s: %v", filepath.Base(path), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var trustedBans []string
	for addr, n := range c.bans {
		if addr == chaosTrunkIP || addr == chaosAgentIP {
			trustedBans = append(trustedBans, fmt.Sprintf("%s x%d", addr, n))
		}
	}
	sort.Strings(trustedBans)
	calmShare := 100.0
	if k.calmCalls > 0 {
		calmShare = 100 * float64(len(calmDone)) / float64(k.calmCalls)
	}

	t.Logf(`chaos reconciliation
  kill phase                          %v
  SIGKILLs                            %d (target %d; daemon exited by itself %d, starts failed %d)
  broker restarts and outages         %d (target %d)
  disk fills                          %d (target %d)
  scanner requests sent               %d (%d/s)
  calls answered (kill phase / calm)  %d / %d
  records / unfinished                %d / %d
  answered without a record           %d (+ %d answered while the disk was full)
  records without a summary           %d
  summaries / duplicates by id        %d / %d   (outbox backlog %d)
  recordings / invalid                %d / %d
  calm calls that succeeded           %d of %d (%.2f %%)
  bans                                %v (trusted: %v)`,
		c.killPhase.Round(time.Second), c.kills, k.kills, c.selfExits, c.startFailures,
		c.brokerRestarts, k.brokerRestarts, c.diskFills, k.diskFills,
		c.scannerSent.Load(), k.scannerRate, len(answered), len(calmAnswered),
		len(ids), unfinished, lost, lostFull, noSummary, total, duplicates, backlog,
		wavs, invalid, len(calmDone), k.calmCalls, calmShare, c.bans, trustedBans)

	// What the current code guarantees: always asserted.
	if c.kills < k.kills || c.brokerRestarts < k.brokerRestarts || c.diskFills < k.diskFills {
		t.Errorf("ran %d kills, %d broker restarts, %d disk fills in %v; want %d, %d, %d (raise RINGSIDE_CHAOS_SECONDS)",
			c.kills, c.brokerRestarts, c.diskFills, k.seconds, k.kills, k.brokerRestarts, k.diskFills)
	}
	if len(answered) == 0 {
		t.Error("no call was answered in the kill phase")
	}
	if noSummary > 0 {
		t.Errorf("%d records without a summary on MQTT", noSummary)
	}
	if invalid > 0 {
		t.Errorf("%d invalid recordings", invalid)
	}
	if lost > 0 {
		t.Errorf("%d answered calls without a record", lost)
	}
	if lostFull > 0 {
		t.Errorf("%d calls answered while the disk was full have no record", lostFull)
	}
	if k.calmCalls > 0 && calmShare < 99.9 {
		t.Errorf("%.2f %% of legitimate calls succeeded under the scanner; want >= 99.9 %%", calmShare)
	}
	if len(trustedBans) > 0 {
		t.Errorf("trusted sources banned: %v", trustedBans)
	}
}
