// A Listener for h2::ServerConnection's tests that keeps what the connection said per stream,
// and a reader of the frames the connection queued.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/h2/frames.h"
#include "gateway/h2/server_connection.h"

namespace kgate::h2::testing {

struct Recorded {
  uint32_t id = 0;
  http::RequestHead head;
  bool tooLarge = false;
  bool headEnded = false;  // the head came with END_STREAM
  std::string body;
  bool ended = false;      // the request is whole
  http::Headers trailers;
  std::optional<frames::ErrorCode> closed;
};

class Recorder : public ServerConnection::Listener {
 public:
  std::map<uint32_t, Recorded> streams;
  std::vector<uint32_t> order;  // ids in the order their requests arrived
  int windowOpened = 0;

  void* onRequest(uint32_t id, http::RequestHead& head, bool tooLarge, bool endStream) override {
    Recorded& r = streams[id];
    r.id = id;
    r.head = std::move(head);
    r.tooLarge = tooLarge;
    r.headEnded = r.ended = endStream;
    order.push_back(id);
    return &r;
  }
  void onData(void* user, std::string_view data, bool endStream) override {
    auto* r = static_cast<Recorded*>(user);
    r->body.append(data);
    if (endStream) r->ended = true;
  }
  void onTrailers(void* user, http::Headers& trailers) override {
    auto* r = static_cast<Recorded*>(user);
    r->trailers = std::move(trailers);
    r->ended = true;
  }
  void onStreamClosed(void* user, frames::ErrorCode code) override {
    static_cast<Recorded*>(user)->closed = code;
  }
  void onSendWindow() override { ++windowOpened; }
};

struct OutFrame {
  frames::Header h;
  std::string payload;
  frames::Type type() const { return static_cast<frames::Type>(h.type); }
};

// Splits whole frames (the connection never queues a part of one).
inline std::vector<OutFrame> splitFrames(std::string_view bytes) {
  std::vector<OutFrame> out;
  while (bytes.size() >= frames::kHeaderSize) {
    frames::Header h = frames::parseHeader(bytes.data());
    out.push_back({h, std::string(bytes.substr(frames::kHeaderSize, h.length))});
    bytes.remove_prefix(frames::kHeaderSize + h.length);
  }
  return out;
}

}  // namespace kgate::h2::testing
