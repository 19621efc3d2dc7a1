// Package dsptest helps tests of the telephony DSP packages use the real peers installed by
// .ci/install (sox, minimodem, multimon-ng, espeak-ng): it runs them, converts their audio to
// and from 8 kHz 16-bit PCM, adds noise and tone bursts, and makes speech (several languages
// and voices) and music fixtures.
//
// Every helper that needs a tool calls RequireTool, so a test fails loudly in CI (CI=true) when
// the tool is missing and is skipped elsewhere.
package dsptest
