// The protocol-neutral HTTP message model shared by the HTTP/1.1 and HTTP/2 codecs, the filters
// and the proxy. Header names are stored lower-case (HTTP/2 requires it; HTTP/1.1 is
// case-insensitive and Kuscia's gateway writes lower-case too). Hop-by-hop headers never enter
// these structs: each codec consumes them and sets the flags below instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kgate::http {

struct Field {
  std::string name;  // lower-case
  std::string value;
};

// Room a head's field list starts with: most requests and responses carry fewer, and growing
// 1, 2, 4, 8 cost three more allocations and moves of every field per message.
inline constexpr size_t kTypicalFields = 8;

class Headers {
 public:
  // First value of name, or nullptr. name must be lower-case.
  const std::string* find(std::string_view name) const;
  std::string_view get(std::string_view name) const;  // "" when absent
  bool has(std::string_view name) const { return find(name) != nullptr; }

  // Appends (a repeated name keeps both). The strings are made in the list's own slot: made
  // outside and moved in, each field cost two more string constructions and copies. The views
  // must not point into this list (making the slot may move it).
  void add(std::string_view name, std::string_view value);
  void set(std::string_view name, std::string value);  // replaces every value with one
  void setIfAbsent(std::string_view name, std::string value);
  size_t remove(std::string_view name);

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  void clear() { fields_.clear(); }
  void reserve(size_t n) { fields_.reserve(n); }

 private:
  std::vector<Field> fields_;
};

struct RequestHead {
  std::string method;
  std::string scheme;     // as received: "http" or "https"
  std::string authority;  // Host (HTTP/1.1) or :authority (HTTP/2), as received
  std::string path;       // request target in origin form ("/x?y")
  Headers headers;        // regular headers: no Host, no pseudo-headers, no hop-by-hop
  int version = 11;       // 10, 11 or 20: the downstream protocol, for logs and framing
  std::optional<uint64_t> contentLength;
  bool hasBody = false;   // false when the request ends with its head
  bool expectContinue = false;  // HTTP/1.1 client waits for "100 Continue" before the body
  bool trailersAllowed = false; // client sent "te: trailers" (gRPC)
};

struct ResponseHead {
  int status = 200;
  Headers headers;        // regular headers: no :status, no hop-by-hop
  std::optional<uint64_t> contentLength;
  bool hasBody = true;    // false when the response ends with its head
};

// A piece of a body. data stays valid until the next read on the same stream.
struct BodyChunk {
  std::string_view data;
  bool last = false;                 // nothing follows (trailers, if any, are set with it)
  const Headers* trailers = nullptr;
};

std::string_view reasonPhrase(int status);
bool isHopByHop(std::string_view lowerName);
// A Content-Length value of HTTP/2 (one field, digits only, RFC 9110 section 8.6) into out.
bool parseContentLength(std::string_view value, uint64_t& out);
void toLower(std::string& s);
// "host:port" -> "host" ("[v6]:port" -> "[v6]"); a value without a port is returned unchanged.
std::string_view stripPort(std::string_view authority);

}  // namespace kgate::http
