#include "gateway/h2/request_fields.h"

#include <array>
#include <cctype>

#include "gateway/h1/chars.h"

namespace kgate::h2 {
namespace {

// The request pseudo-header fields (RFC 9113 section 8.3.1); bit i of pseudoSeen_ is kPseudo[i].
// :protocol (RFC 8441) is not among them: kgate announces no extended CONNECT.
constexpr std::array<std::string_view, 4> kPseudo = {":method", ":scheme", ":authority", ":path"};
constexpr unsigned kMethod = 1, kScheme = 2, kAuthority = 4, kPath = 8;

// Section 8.2.1 forbids controls, space, upper case and a colon in names; like nghttp2, kgate
// takes only the lower-case characters of an HTTP token (RFC 9110 section 5.1).
bool validName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    char lower = h1::chars::kTokenLower[static_cast<unsigned char>(c)];
    if (lower == 0 || lower != c) return false;  // 0: not a tchar (NUL among them)
  }
  return true;
}

// RFC 9110's field value (visible characters, obs-text, space and tab inside), which excludes
// section 8.2.1's NUL, CR and LF with the other controls; and no space or tab at either end.
bool validValue(std::string_view v) {
  if (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t'))
    return false;
  return h1::chars::isText(v);
}

// :authority and Host become the HTTP/1.1 Host and name the route: a host and port, without
// the userinfo section 8.3.1 forbids, whitespace or a path; as the HTTP/1.1 side requires
// (h1/server_connection.cc) and nghttp2 does, never empty.
bool validAuthority(std::string_view v) {
  return h1::chars::isTarget(v) && v.find_first_of("@/?#") == std::string_view::npos;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

// Section 8.2.2: fields about a connection have no place in an HTTP/2 message.
bool connectionSpecific(std::string_view n) {
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
         n == "transfer-encoding" || n == "upgrade";
}

}  // namespace

RequestFields::RequestFields(http::RequestHead& head, uint32_t maxHeaderBytes,
                             uint32_t maxHeaderCount)
    : head_(&head), maxBytes_(maxHeaderBytes), maxCount_(maxHeaderCount) {}

RequestFields::RequestFields(http::Headers& trailers, uint32_t maxHeaderBytes,
                             uint32_t maxHeaderCount, uint64_t headBytes)
    : trailers_(&trailers), maxBytes_(maxHeaderBytes), maxCount_(maxHeaderCount),
      bytes_(headBytes) {}

void RequestFields::onField(std::string_view name, std::string_view value, bool) {
  // Every field is decoded, kept or not: the block must be read whole anyway. Past the limit
  // it is only counted: the answer is 431 whatever follows, and an HPACK bomb (one-byte indexes
  // to a 4 KiB entry) must not cost a scan of every copy it names.
  bytes_ += name.size() + value.size() + 32;
  if (bytes_ > maxBytes_) tooLarge_ = true;
  if (tooLarge_) return;
  if (!validValue(value)) malformed("invalid field value");
  if (name.starts_with(':')) {
    pseudoHeader(name, value);
    return;
  }
  regularSeen_ = true;
  if (!validName(name)) return malformed("invalid field name");
  if (connectionSpecific(name)) return malformed("connection-specific field");
  regularField(name, value);
}

void RequestFields::pseudoHeader(std::string_view name, std::string_view value) {
  if (trailers_) return malformed("pseudo-header field in trailers");
  if (regularSeen_) return malformed("pseudo-header field after a regular one");
  size_t i = 0;
  while (i < kPseudo.size() && kPseudo[i] != name) ++i;
  if (i == kPseudo.size()) return malformed("unknown pseudo-header field");
  if (pseudoSeen_ & (1u << i)) return malformed("pseudo-header field given twice");
  pseudoSeen_ |= 1u << i;
  http::RequestHead& r = *head_;
  switch (1u << i) {
    case kMethod:
      if (!h1::chars::isToken(value)) return malformed("invalid :method");
      r.method.assign(value);
      break;
    case kScheme: r.scheme.assign(value); break;
    case kAuthority:
      if (!validAuthority(value)) return malformed("invalid :authority");
      r.authority.assign(value);
      break;
    case kPath:  // as an HTTP/1.1 request target: no whitespace or controls (RFC 9112 3.2)
      if (value.empty()) return malformed("empty :path");
      if (!h1::chars::isTarget(value)) return malformed("invalid :path");
      r.path.assign(value);
      break;
  }
}

void RequestFields::regularField(std::string_view name, std::string_view value) {
  if (name == "te") {  // section 8.2.2: "trailers" is the one value it may have
    if (!equalsIgnoringCase(value, "trailers")) return malformed("te other than trailers");
    if (head_) head_->trailersAllowed = true;
    return;
  }
  if (name == "content-length") {
    // Framing has no place in trailers (RFC 9110 section 6.5.1); nghttp2 resets such a stream.
    if (trailers_) return malformed("content-length in trailers");
    uint64_t length;
    if (!http::parseContentLength(value, length)) return malformed("invalid content-length");
    if (lengthSeen_) return malformed("content-length given twice");
    lengthSeen_ = true;
    head_->contentLength = length;
    return;  // kept as a member
  }
  if (http::isHopByHop(name) || tooLarge_) return;  // trailer, http2-settings: not forwarded
  if (head_ && name == "host") {
    if (!validAuthority(value)) return malformed("invalid host");
    if (hostSeen_) return malformed("host given twice");
    hostSeen_ = true;
    if (head_->authority.empty()) head_->authority.assign(value);  // :authority comes first
    return;
  }
  http::Headers& kept = trailers_ ? *trailers_ : head_->headers;
  if (head_ && name == "cookie") {  // section 8.2.3: one field for HTTP/1.1 upstreams
    if (const std::string* c = kept.find("cookie")) {
      std::string joined = *c + "; " + std::string(value);
      kept.set("cookie", std::move(joined));
      return;
    }
  }
  if (++count_ > maxCount_) {
    tooLarge_ = true;
    return;
  }
  kept.add(name, value);
}

RequestFields::Verdict RequestFields::finish() {
  if (head_ && problem_.empty()) {
    // Section 8.3.1: :method, :scheme and a non-empty :path, or for CONNECT (8.5) :authority
    // and neither of those two. kgate refuses CONNECT (405) later, as it does today.
    if (!(pseudoSeen_ & kMethod)) malformed("no :method");
    else if (head_->method == "CONNECT") {
      if ((pseudoSeen_ & (kScheme | kPath)) || !(pseudoSeen_ & kAuthority))
        malformed("CONNECT with :scheme or :path, or without :authority");
    } else if ((pseudoSeen_ & (kScheme | kPath)) != (kScheme | kPath)) {
      malformed("no :scheme or :path");
    } else if (head_->authority.empty()) {
      malformed("no :authority or host");  // nghttp2 and the HTTP/1.1 side refuse it too
    }
  }
  if (!problem_.empty()) return Verdict::Malformed;
  return tooLarge_ ? Verdict::TooLarge : Verdict::Ok;
}

}  // namespace kgate::h2
