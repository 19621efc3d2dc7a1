// Package hw is the appliance's front panel: four status LEDs and one push
// button on GPIO, through periph.io (gpio.PinOut / gpio.PinIn, gpioreg for
// line names, the /dev/gpiochip character device on Linux). It knows nothing
// of SIP, the store or MQTT: the caller hands it a [State] and gets button
// presses back through a callback.
//
// # Wiring it up
//
//	board, err := hw.OpenGPIO(cfg)        // host.Init + gpioreg.ByName for every named pin
//	if errors.Is(err, hw.ErrNoGPIO) {     // no GPIO on this machine: log it and simulate
//		board = hw.SimulatedBoard(cfg, logger)
//	}
//	panel := hw.NewPanel(board.LEDs, hw.SystemClock(), logger)
//	go panel.Run(ctx)                     // owns the LED pins; LEDs go dark when ctx ends
//	panel.Set(state)                      // on every change; never blocks
//	panel.Snapshot()                      // for the web page: pattern and lit/unlit per LED
//	btn, err := hw.NewButton(board.Button, hw.ButtonConfig{ActiveLow: true}, hw.SystemClock(), logger, onPress)
//	go btn.Run(ctx)
//
// # LEDs: state -> pattern
//
// Rows are checked top to bottom; the first that matches wins.
//
//	LED     condition                                      pattern
//	ready   not Ready (starting, or SIP/store/web down)    blink
//	ready   Ready and Night                                heartbeat
//	ready   Ready                                          steady
//	calls   Waiting >= 1 (callers ringing or queued)       waiting(N): blinks faster as N grows
//	calls   InProgress >= 1 (calls connected to agents)    steady
//	calls   otherwise                                      off
//	alarm   some alarm in Alarms not in Acknowledged       fast blink
//	alarm   Alarms all acknowledged                        steady
//	alarm   no alarm                                       off
//	uplink  UplinkOnline                                   steady
//	uplink  UplinkBacklogged (sending what queued up)      blink
//	uplink  UplinkOffline                                  fast blink
//	uplink  UplinkDisabled                                 off
//
// Alarms: AlarmBlocked (blocked call % today over target), AlarmDiskLow,
// AlarmRegistrationLost (a line or ATA account not registered),
// AlarmRecordingFailing, AlarmRecordsUnsaved (call records cannot be saved, so
// new calls are refused), AlarmRecordsSetAside (writes that could never succeed
// were set aside). A long press acknowledges the alarms in force: the
// caller sets State.Acknowledged = State.Alarms, and the alarm LED turns
// steady until a new alarm appears (it is not in Acknowledged, so the LED
// fast-blinks again).
//
// # Pattern timings
//
// Each blinking pattern is a repeating cycle of on/off segments that starts
// with "on" at the tick where the LED's pattern changed (a change of the
// waiting count past 5 is no change). The panel samples every [Tick] (25 ms);
// every segment below is a whole number of ticks, so each edge falls exactly
// on a tick.
//
//	off         always off
//	steady      always on
//	blink       on 500 ms, off 500 ms                              (1 Hz)
//	fast blink  on 125 ms, off 125 ms                              (4 Hz)
//	heartbeat   on 100 ms, off 100 ms, on 100 ms, off 700 ms       (1 s cycle)
//	waiting(N)  on h, off h with h = 500, 350, 250, 175, 125 ms
//	            for N = 1, 2, 3, 4, 5 or more waiting callers
//
// ActiveLow in the pin config inverts the line level; "on" always means lit.
// When Run returns, every LED is turned off.
//
// # Button
//
// A push button on one input line, with the internal pull-up for an
// active-low button (else pull-down). A level counts once it has held for
// the debounce time (default 30 ms). A press released before the long-press
// time (default 2 s) is a [ShortPress] (the caller toggles night mode: calls
// then get the closed treatment); a press held that long is a [LongPress],
// reported at that moment while still held (the caller acknowledges the
// current alarms). A press already held when Run starts is ignored. Every
// edge wait is bounded (10 ms while the button is down or settling, 250 ms
// otherwise), so Run notices a cancelled context within 250 ms.
//
// # No GPIO
//
// [OpenGPIO] calls periph.io's host.Init and gpioreg.ByName; a failure or an
// unknown line name gives an error wrapping [ErrNoGPIO] naming the pin. The
// caller then uses [SimulatedBoard]: LED lines live in memory ([SimPin]), the
// panel logs each pattern change with slog at info level (and each line
// level change at debug level), and [Panel.Snapshot] serves the web page, so
// `ringside demo` shows the panel. [SimButton] lets a web page or a test
// press the simulated button.
//
// Tests use periph's gpiotest.Pin and the fake clock in package hwtest.
package hw
