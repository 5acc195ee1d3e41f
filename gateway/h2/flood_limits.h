// What an HTTP/2 client may make kgate do without asking for anything: answer SETTINGS and PING,
// buffer CONTINUATION frames, open and reset streams. Past a limit the connection ends with
// GOAWAY ENHANCE_YOUR_CALM (RFC 9113 section 10.5). All of them here; the gateway README lists
// them ("Malformed and hostile input").
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace kgate::h2 {

// SETTINGS and PING acknowledgements queued and not yet written: a client that sends those
// frames faster than it reads the answers is flooding (CVE-2019-9512, CVE-2019-9515).
inline constexpr size_t kMaxQueuedAcks = 1000;

// Entries in one SETTINGS frame; RFC 9113 defines six settings.
inline constexpr size_t kMaxSettingsEntries = 32;

// CONTINUATION frames after one HEADERS frame (CVE-2024-27316, CVE-2024-28182). A header block
// within limits.maxHeaderBytes, sent in frames of the default 16 KiB, needs far fewer.
inline size_t maxContinuations(uint32_t maxHeaderBytes) {
  return std::max<size_t>(8, maxHeaderBytes / (16 * 1024) + 2);
}

// Streams a client may reset (CVE-2023-44487, "rapid reset"): every RST_STREAM it sends takes
// a token from a bucket of kResetBurst, refilled at kResetsPerSecond. Cancelling every stream of
// a full connection (limits.maxConcurrentStreams, 256 by default) at once stays well within it.
inline constexpr uint32_t kResetBurst = 500;
inline constexpr uint32_t kResetsPerSecond = 50;

// After such a GOAWAY the client has kGoawayGrace to read it; meanwhile what it still sends is
// read and dropped (up to kGoawayDrainBytes), so that a client still flooding cannot hold the
// GOAWAY back, and closing with its bytes unread does not reset the connection under it.
inline constexpr auto kGoawayGrace = std::chrono::seconds(5);
inline constexpr uint64_t kGoawayDrainBytes = 16 * 1024 * 1024;

}  // namespace kgate::h2
