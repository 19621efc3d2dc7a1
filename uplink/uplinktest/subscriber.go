package uplinktest

import (
	"crypto/tls"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Received is one message a Subscriber got.
type Received struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// Subscriber is a paho client with a persistent session (CleanSession false, a fixed client id)
// subscribed at QoS 1: it keeps receiving across broker restarts, as a dashboard would.
type Subscriber struct {
	cl   mqtt.Client
	mu   sync.Mutex
	msgs []Received
	wake chan struct{}
}

// SubscriberOptions: credentials and TLS for the subscriber, when the broker wants them.
type SubscriberOptions struct {
	Username, Password string
	TLS                *tls.Config
}

// Subscribe connects (retrying until the broker is up) and subscribes to filters at QoS 1. It
// disconnects at the end of the test.
func Subscribe(t testing.TB, broker, clientID string, so SubscriberOptions, filters ...string) *Subscriber {
	t.Helper()
	s := &Subscriber{wake: make(chan struct{}, 1)}
	subs := map[string]byte{}
	for _, f := range filters {
		subs[f] = 1
	}
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetCleanSession(false).
		SetProtocolVersion(4).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(200 * time.Millisecond).
		SetUsername(so.Username).SetPassword(so.Password).SetOrderMatters(true).
		SetDefaultPublishHandler(s.handle).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.SubscribeMultiple(subs, s.handle) // the session keeps them; subscribing again is harmless
		})
	if so.TLS != nil {
		o.SetTLSConfig(so.TLS)
	}
	s.cl = mqtt.NewClient(o)
	tok := s.cl.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	st := s.cl.SubscribeMultiple(subs, s.handle)
	if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
		t.Fatalf("subscribe %v: %v", filters, st.Error())
	}
	t.Cleanup(func() { s.cl.Disconnect(100) })
	return s
}

func (s *Subscriber) handle(_ mqtt.Client, m mqtt.Message) {
	p := append([]byte(nil), m.Payload()...)
	s.mu.Lock()
	s.msgs = append(s.msgs, Received{Topic: m.Topic(), Payload: p, Retained: m.Retained()})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Messages returns a copy of everything received so far.
func (s *Subscriber) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Count returns how many messages arrived so far.
func (s *Subscriber) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Publish sends a message (for Home Assistant's birth in tests).
func (s *Subscriber) Publish(topic string, qos byte, retained bool, payload []byte) error {
	tok := s.cl.Publish(topic, qos, retained, payload)
	tok.WaitTimeout(5 * time.Second)
	return tok.Error()
}

// WaitFor polls cond on the messages received until it holds or timeout passes.
func (s *Subscriber) WaitFor(timeout time.Duration, cond func([]Received) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond(s.Messages()) {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		select {
		case <-s.wake:
		case <-time.After(min(left, 100*time.Millisecond)):
		}
	}
}
