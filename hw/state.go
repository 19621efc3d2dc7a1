package hw

import (
	"strings"
)

// State is what the appliance tells the panel about itself. The caller (edge)
// builds it from its live view and hands every change to [Panel.Set]; the
// panel turns it into LED patterns as documented in doc.go.
type State struct {
	// Ready is true once the SIP listener, the store and the web server are
	// up (the moment the daemon sends READY=1 to systemd).
	Ready bool
	// Night is true while night mode is on (calls get the closed treatment).
	Night bool
	// Waiting counts callers ringing or waiting in a queue, not yet connected
	// to an agent.
	Waiting int
	// InProgress counts calls connected to an agent.
	InProgress int
	// Alarms holds the alarm conditions in force now.
	Alarms Alarm
	// Acknowledged holds the alarms a person acknowledged with a long press.
	// The caller sets it to the Alarms in force at the press; an alarm that
	// appears afterwards is not in it, so the alarm LED flashes again.
	Acknowledged Alarm
	// Uplink is the MQTT uplink's condition.
	Uplink UplinkState
}

// Alarm is a set of alarm conditions (a bit mask).
type Alarm uint8

// The alarm conditions.
const (
	// AlarmBlocked: blocked call % today is over the configured target.
	AlarmBlocked Alarm = 1 << iota
	// AlarmDiskLow: the state directory's disk is nearly full.
	AlarmDiskLow
	// AlarmRegistrationLost: a line or ATA account is not registered.
	AlarmRegistrationLost
	// AlarmRecordingFailing: recordings cannot be written.
	AlarmRecordingFailing
	// AlarmRecordsUnsaved: call records cannot be saved (disk full); new calls are refused.
	AlarmRecordsUnsaved
	// AlarmRecordsSetAside: writes that could never succeed were set aside for a person to look at.
	AlarmRecordsSetAside
)

// String lists the conditions, comma separated, or "none".
func (a Alarm) String() string {
	if a == 0 {
		return "none"
	}
	alarmNames := [...]string{"blocked", "disk_low", "registration_lost", "recording_failing", "records_unsaved", "records_set_aside"}
	var names []string
	for i, n := range alarmNames {
		if a&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if rest := a &^ (1<<len(alarmNames) - 1); rest != 0 {
		names = append(names, "unknown")
	}
	return strings.Join(names, ",")
}

// Unacknowledged returns the alarms in force that nobody acknowledged yet.
func (s State) Unacknowledged() Alarm { return s.Alarms &^ s.Acknowledged }

// UplinkState is the MQTT uplink's condition as the panel shows it.
type UplinkState uint8

// The uplink conditions.
const (
	// UplinkDisabled: no uplink configured; the uplink LED stays dark.
	UplinkDisabled UplinkState = iota
	// UplinkOnline: connected, nothing waiting to be sent.
	UplinkOnline
	// UplinkBacklogged: connected, still sending records queued while it was down.
	UplinkBacklogged
	// UplinkOffline: configured but not connected.
	UplinkOffline
)

// String names the condition.
func (u UplinkState) String() string {
	switch u {
	case UplinkDisabled:
		return "disabled"
	case UplinkOnline:
		return "online"
	case UplinkBacklogged:
		return "backlogged"
	case UplinkOffline:
		return "offline"
	}
	return "unknown"
}
