package uplink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
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
	Identifiers      []string `json:"identifiers"`
	Name             string   `json:"name"`
	Manufacturer     string   `json:"manufacturer"`
	Model            string   `json:"model"`
	SWVersion        string   `json:"sw_version,omitempty"`
	ConfigurationURL string   `json:"configuration_url,omitempty"`
}

// haOrigin names the software that sent the config (Home Assistant logs it with every entity).
type haOrigin struct {
	Name       string `json:"name"`
	SWVersion  string `json:"sw_version,omitempty"`
	SupportURL string `json:"support_url,omitempty"`
}

// HADevice is what Home Assistant shows about the appliance.
type HADevice struct {
	SiteName string // the site's human name; default the site's topic level
	Version  string // the software version (device and origin sw_version); "" leaves it out
	// WebURL is the appliance's web page (device configuration_url, origin support_url): an
	// absolute http or https URL, or "" to leave them out.
	WebURL string
}

// DiscoveryMessages builds the retained discovery configs of the six key sensors. Unique ids are
// ringside_<site>_<device>_<sensor>, with any character outside [a-zA-Z0-9_-] replaced, as discovery
// node and object ids require; default entity ids are sensor.<unique id> in the entity id alphabet
// (see haEntityID).
func DiscoveryMessages(prefix string, t Topics, d HADevice) ([]Discovery, error) {
	if prefix == "" || strings.ContainsAny(prefix, "+#") {
		return nil, fmt.Errorf("%w: home assistant discovery prefix %q", ErrConfig, prefix)
	}
	if d.WebURL != "" {
		if u, err := url.Parse(d.WebURL); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("%w: home assistant configuration url %q: want an absolute http or https URL", ErrConfig, d.WebURL)
		}
	}
	node := haID("ringside_" + t.Site + "_" + t.Device)
	dev := haDevice{Identifiers: []string{node}, Name: haDeviceName(d.SiteName, t), Manufacturer: "Ringside",
		Model: "call tracking appliance", SWVersion: d.Version, ConfigurationURL: d.WebURL}
	origin := haOrigin{Name: "Ringside", SWVersion: d.Version, SupportURL: d.WebURL}
	avail := []haAvailability{{Topic: t.Abs(TopicStatus), ValueTemplate: "{{ value_json.state }}", PayloadAvailable: "online", PayloadNotAvailable: "offline"}}
	var out []Discovery
	for _, s := range haSensors() {
		uid := node + "_" + s.key
		c := haConfig{
			Name: s.name, UniqueID: uid, DefaultEntityID: "sensor." + haEntityID(uid), StateTopic: t.Abs(s.topic),
			ValueTemplate: "{{ value_json." + s.field + " }}",
			Unit:          s.unit, DeviceClass: s.deviceClass, StateClass: s.stateClass, Icon: s.icon,
			Availability: avail, AvailabilityMode: "all", Device: dev, Origin: origin,
		}
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("encode discovery %s: %w", uid, err)
		}
		out = append(out, Discovery{Topic: prefix + "/sensor/" + uid + "/config", Payload: b})
	}
	return out, nil
}

// haDeviceName is the device's name in Home Assistant, which also prefixes its entities' names:
// "Ringside <site name>", without a second "Ringside" when the site's name has one, and with the
// device id only when it is not the default (the site's topic level), i.e. when a site has
// several boxes.
func haDeviceName(siteName string, t Topics) string {
	name := strings.TrimSpace(siteName)
	if name == "" {
		name = t.Site
	}
	if !strings.Contains(strings.ToLower(name), "ringside") {
		name = "Ringside " + name
	}
	if t.Device != t.Site {
		name += " " + t.Device
	}
	return name
}

// haEntityID turns s into an entity object id as Home Assistant validates them: lower-case
// [a-z0-9_], no leading, trailing or doubled underscore. Any other character becomes "_".
func haEntityID(s string) string {
	var b strings.Builder
	under := true // drop leading underscores
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	id := strings.TrimSuffix(b.String(), "_")
	if id == "" {
		return "ringside"
	}
	return id
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
