// Package recorder turns a call's media into one file and keeps the recordings folder in order.
// It knows nothing of SIP: the relay hands it G.711 payloads with their RTP timestamps.
//
// Writer records both directions of a call into one time-aligned stereo WAV, caller on the left and
// agent on the right, holding the G.711 bytes as they arrived (WAVE_FORMAT_MULAW 7 or
// WAVE_FORMAT_ALAW 6, 8 kHz, 8 bits, 2 channels, with the fact chunk a non-PCM WAVE file carries:
// Microsoft/IBM "Multimedia Programming Interface and Data Specifications 1.0" (1991) and RFC 2361).
// The file's timeline is the call's timeline: each leg is anchored on the arrival time of its first
// packet and then follows its RTP timestamps (RFC 3550 section 5.1), so gaps from loss or silence
// suppression become silence codes (G.711 tables 1a/2a: 0xFF mu-law, 0xD5 A-law) and hold stays in.
// A leg whose timestamps drift from its arrivals by more than ResyncThreshold (new SSRC or timestamp
// jump on re-INVITE, frozen RTP clock on hold) is re-anchored on arrival. Late packets are put in
// place while their frames are within ReorderWindow of the newest audio of every active leg (see
// settleActive); later ones are counted in Result.Late. Arrival times are taken relative to the
// writer's start, so with time.Now() readings the monotonic clock places audio and a wall-clock step
// (NTP on a board without an RTC) moves nothing. A file stops at the 4 GiB RIFF limit (ErrTooLong).
//
// Write never blocks on the disk: it copies into a bounded buffer drained by one goroutine per call.
// If that buffer fills (slow disk) or the disk fails (ENOSPC), the recording stops, the call goes on,
// and Close reports Status "cut" with the reason. With WriterConfig.MinFreeBytes, recordings leave
// that much free on their file system for what shares it (the call records' database): Start
// refuses below it and a recording that would write past it is cut, both with ErrLowDisk. Audio and header sizes reach the file every
// FlushInterval, so kill -9 leaves a file whose header covers all but the last
// FlushInterval + ResyncThreshold + 100 ms (900 ms by default) of audio; Fsync extends that to power
// loss. While neither leg sends anything (both on hold, no RTP), nothing new is written until audio
// resumes or Close pads the silence.
//
// In-progress files are named <callid>.wav.part; Repair, run at start before any Writer, fixes their
// header sizes from the file length and renames them, returning the call ids to mark interrupted.
// Layout puts files at Root/YYYY/MM/DD/<callid>.wav (files 0600, folders 0700); the call id must be
// a canonical UUID (ValidCallID), so no file name ever comes from caller input.
//
// Keeper enforces retention days and a byte quota oldest-first, never removing a .part file, and
// signals low free space (statfs(2)). Retention goes by file time, so it is only as good as the
// clock that stamped the files: KeeperConfig.Expiry lets the caller refuse it (an unsynchronised
// or jumped clock) or narrow it to a window; the quota never asks, it only evicts oldest first. The quota holds to within one file when Keeper.Notify is called
// each time a recording closes; recordings in progress count towards it but are never removed.
// Sweeps take at most a tenth of a core (Run waits nine times a sweep's length before the next), so
// when many calls end at once, or the folder holds many files, the quota holds to within the
// recordings that closed during that wait.
//
// OpenPCM and ServePCM present any recording as a 16-bit PCM WAV, decoding G.711 with 256-entry
// tables (ITU-T G.711) as it reads, with Range support through http.ServeContent; nothing loads the
// whole file.
//
// Not here, by design (issue 4): whether a call is recorded (per tracking number and queue) and the
// "this call may be recorded" announcement are edge's policy; storing Result and the rtpstats
// figures on the call record, and marking repaired calls interrupted, are edge's too.
// The end-to-end checks live with that wiring: edge/appliance streams known audio both ways with sipp,
// and through siptest.LossyHop (5% loss and reordering between sipp and the appliance);
// cmd/ringside kills the appliance with SIGKILL during 10 recorded calls.
//
// Per-call memory: 2 x BufferBytes (64 KiB) input plus about 1.4 s of stereo frames (22 KiB).
package recorder
