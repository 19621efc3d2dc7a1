package uplink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// DefaultDiscoveryPrefix is Home Assistant's default discovery prefix; its birth message comes on
// <prefix>/status.
const DefaultDiscoveryPrefix = "homeassistant"

// Discovery is one Home Assistant MQTT discovery message: Topic is
// <prefix>/sensor/<unique_id>/config, Payload its retained JSON config.
type Discovery struct {
	Topic   string
	Payload []byte
}

// haSensor is one key sensor: the field of the state payload it reads, its topic and its units.
type haSensor struct {
	key, name, topic, field, unit, deviceClass, stateClass, icon string
}

// haSensors are the six key sensors of issue 6. The live ones read the .../live payload; the backlog
// reads .../status, which the publisher refreshes while connected.
func haSensors() []haSensor {
	return []haSensor{
		{key: "callers_waiting", name: "Callers waiting", topic: TopicLive, field: "callers_waiting", stateClass: "measurement", icon: "mdi:phone-in-talk"},
		{key: "agents_available", name: "Agents available", topic: TopicLive, field: "agents_available", stateClass: "measurement", icon: "mdi:account-check"},
		{key: "calls_today", name: "Calls today", topic: TopicLive, field: "calls_today", stateClass: "total_increasing", icon: "mdi:phone-incoming"},
		{key: "blocked_pct_today", name: "Blocked calls today", topic: TopicLive, field: "blocked_pct_today", unit: "%", stateClass: "measurement", icon: "mdi:phone-cancel"},
		{key: "avg_wait_today", name: "Average wait today", topic: TopicLive, field: "avg_wait_today_s", unit: "s", deviceClass: "duration", stateClass: "measurement"},
		{key: "uplink_backlog", name: "Uplink backlog", topic: TopicStatus, field: "backlog", stateClass: "measurement", icon: "mdi:tray-full"},
	}
}

// haConfig is the subset of the MQTT sensor discovery schema we send.
type haConfig struct {
	Name             string           `json:"name"`
	UniqueID         string           `json:"unique_id"`
	DefaultEntityID  string           `json:"default_entity_id"` // replaces object_id (deprecated in HA 2025.10, removed 2026.4)
	StateTopic       string           `json:"state_topic"`
	ValueTemplate    string           `json:"value_template"`
	Unit             string           `json:"unit_of_measurement,omitempty"`
	DeviceClass      string           `json:"device_class,omitempty"`
	StateClass       string           `json:"state_class,omitempty"`
	Icon             string           `json:"icon,omitempty"`
	Availability     []haAvailability `json:"availability"`
	AvailabilityMode string           `json:"availability_mode"`
	Device           haDevice         `json:"device"`
	Origin           haOrigin         `json:"origin"`
}

type haAvailability struct {
	Topic               string `json:"topic"`
	ValueTemplate       string `json:"value_template"`
	PayloadAvailable    string `json:"payload_available"`
	PayloadNotAvailable string `json:"payload_not_available"`
}

type haDevice struct {
	Identifiers  []string `json:"identifiers"`
	Name         string   `json:"name"`
	Manufacturer string   `json:"manufacturer"`
	Model        string   `json:"model"`
}

type haOrigin struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// DiscoveryMessages builds the retained discovery configs of the six key sensors. siteName is the
// human name shown in Home Assistant. Unique ids are ringside_<site>_<device>_<sensor>, with any
// character outside [a-zA-Z0-9_-] replaced, as discovery node and object ids require.
func DiscoveryMessages(prefix string, t Topics, siteName string) ([]Discovery, error) {
	if prefix == "" || strings.ContainsAny(prefix, "+#") {
		return nil, fmt.Errorf("%w: home assistant discovery prefix %q", ErrConfig, prefix)
	}
	if siteName == "" {
		siteName = t.Site
	}
	node := haID("ringside_" + t.Site + "_" + t.Device)
	dev := haDevice{Identifiers: []string{node}, Name: "Ringside " + siteName + " " + t.Device, Manufacturer: "Ringside", Model: "call tracking appliance"}
	avail := []haAvailability{{Topic: t.Abs(TopicStatus), ValueTemplate: "{{ value_json.state }}", PayloadAvailable: "online", PayloadNotAvailable: "offline"}}
	var out []Discovery
	for _, s := range haSensors() {
		uid := node + "_" + s.key
		c := haConfig{
			Name: s.name, UniqueID: uid, DefaultEntityID: "sensor." + uid, StateTopic: t.Abs(s.topic),
			ValueTemplate: "{{ value_json." + s.field + " }}",
			Unit:          s.unit, DeviceClass: s.deviceClass, StateClass: s.stateClass, Icon: s.icon,
			Availability: avail, AvailabilityMode: "all", Device: dev, Origin: haOrigin{Name: "ringside"},
		}
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("encode discovery %s: %w", uid, err)
		}
		out = append(out, Discovery{Topic: prefix + "/sensor/" + uid + "/config", Payload: b})
	}
	return out, nil
}

func haID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// ParseBirth reads a message on <discovery prefix>/status. Home Assistant sends "online" when it
// starts (its birth message) and "offline" as its will; online reports whether to announce again.
// Anything else is ErrPayload, so a stray publish cannot trigger a flood of announcements.
func ParseBirth(payload []byte) (online bool, err error) {
	switch string(bytes.TrimSpace(payload)) {
	case "online":
		return true, nil
	case "offline":
		return false, nil
	}
	return false, fmt.Errorf("%w: home assistant status must be online or offline (%d bytes)", ErrPayload, len(payload))
}
