// A request's field section as kgate's own HTTP/2 server codec decodes it (hpack.h): the
// pseudo-header fields into http::RequestHead's members, the rest into its headers, with the
// checks of RFC 9113 sections 8.2 and 8.3 that make a request malformed, which is a stream error
// of type PROTOCOL_ERROR (section 8.1.1). What it keeps matches what kgate's nghttp2 callbacks
// keep today (h2/session.cc): cookies joined into one field for HTTP/1.1 upstreams, Host as the
// authority when :authority is absent, hop-by-hop fields left out. Not used by the sessions yet.
#pragma once

#include <cstdint>
#include <string_view>

#include "gateway/h2/hpack.h"
#include "gateway/http/message.h"

namespace kgate::h2 {

class RequestFields final : public hpack::FieldSink {
 public:
  enum class Verdict {
    Ok,
    Malformed,  // reset the stream: PROTOCOL_ERROR
    TooLarge,   // over maxHeaderBytes (RFC 9113's count, name + value + 32) or maxHeaderCount
                // fields: a head is answered 431, as HTTP/1.1's are; trailers, which come
                // after the response may have begun, reset the stream
  };

  // A request's head, filled into `head`.
  RequestFields(http::RequestHead& head, uint32_t maxHeaderBytes, uint32_t maxHeaderCount);
  // A trailer section (after the body), filled into `trailers`: no pseudo-header fields and no
  // content-length. headBytes: what the head's sink counted (bytes()), so that head and
  // trailers share maxHeaderBytes, as they do with nghttp2.
  RequestFields(http::Headers& trailers, uint32_t maxHeaderBytes, uint32_t maxHeaderCount,
                uint64_t headBytes);

  void onField(std::string_view name, std::string_view value, bool neverIndexed) override;
  // After the whole block: the verdict, with the required pseudo-header fields checked.
  Verdict finish();
  // What made the section malformed, for the log ("" if nothing did).
  std::string_view problem() const { return problem_; }
  uint64_t bytes() const { return bytes_; }  // RFC 9113's count of the fields so far

 private:
  void malformed(std::string_view why) {
    if (problem_.empty()) problem_ = why;
  }
  void pseudoHeader(std::string_view name, std::string_view value);
  void regularField(std::string_view name, std::string_view value);

  http::RequestHead* head_ = nullptr;
  http::Headers* trailers_ = nullptr;
  uint32_t maxBytes_, maxCount_;
  uint64_t bytes_ = 0;
  uint32_t count_ = 0;
  bool tooLarge_ = false;
  bool regularSeen_ = false;
  bool lengthSeen_ = false;
  bool hostSeen_ = false;
  unsigned pseudoSeen_ = 0;  // bits, by kPseudo's order in the .cc
  std::string_view problem_;
};

}  // namespace kgate::h2
