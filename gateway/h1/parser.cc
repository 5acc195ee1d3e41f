#include "gateway/h1/parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "gateway/h1/chars.h"

namespace kgate::h1 {
namespace {

using error = ParseError;

using chars::isDigit;
using chars::isSpace;
using chars::isText;
using chars::trim;

// "HTTP/" DIGIT "." DIGIT. A later 1.x reads as 1.1 (RFC 9112 section 2.3); another major
// version is well-formed but not ours (RFC 9110 section 15.6.6: 505).
enum class Version { Malformed, Http10, Http11, OtherMajor };
Version parseVersion(std::string_view v) {
  if (v.size() != 8 || !v.starts_with("HTTP/") || !isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]))
    return Version::Malformed;
  if (v[5] != '1') return Version::OtherMajor;
  return v[7] == '0' ? Version::Http10 : Version::Http11;
}

// A chunk-size line, extensions included, may not be longer than this.
constexpr size_t kMaxChunkLine = 4096;

// Body reads ask for this much room (the buffer may grow to twice that): large enough for bulk
// transfers, small enough to bound per-stream memory. For response bodies (from upstreams) it is
// the HTTP/2 writer's batch (h2/session.cc), one upstream read per batch: at 64 KiB, HTTP/2
// 1 MiB GETs took ~5% more CPU per request (twice the reads and the hand-offs to the writer);
// 32 KiB a third more syscalls; 16 KiB a third more CPU. Request bodies come from clients, some
// of whom trickle them: those keep 64 KiB.
template <bool isRequest>
constexpr size_t kBodyReadSize = isRequest ? 64 * 1024 : 128 * 1024;

}  // namespace

template <bool R>
Parser<R>::Parser(uint32_t maxHeaderBytes, uint32_t maxHeaderCount)
    : maxHeaderBytes_(maxHeaderBytes), maxHeaderCount_(maxHeaderCount) {}

template <bool R>
size_t Parser<R>::fail(error_code& ec, ParseError e) {
  ec = e;
  state_ = State::Failed;
  return 0;
}

template <bool R>
bool Parser<R>::refuse(error_code& ec, ParseError e) {
  fail(ec, e);
  return false;
}

template <bool R>
bool Parser<R>::keepAlive() const {
  if (!headerDone_ || state_ == State::Failed || untilEof_) return false;
  return version >= 11 ? !connectionClose_ : connectionKeepAlive_;
}

template <bool R>
size_t Parser<R>::put(std::string_view data, error_code& ec) {
  ec = {};
  hasPiece = false;
  piece = {};
  if (!data.empty()) gotSome_ = true;
  size_t used = 0;
  for (;;) {
    std::string_view rest = data.substr(used);
    switch (state_) {
      case State::Head:
        return parseHead(rest, ec);  // the head alone: the caller looks at it before the body
      case State::Done:
        return used;
      case State::Failed:
        ec = error::stale_parser;
        return used;
      case State::Length:
      case State::ChunkData:
      case State::UntilEof: {
        if (rest.empty()) {
          ec = error::need_more;
          return used;
        }
        size_t n = rest.size();
        if (state_ != State::UntilEof) {
          n = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
          remaining_ -= n;
          if (remaining_ == 0) state_ = state_ == State::Length ? State::Done : State::ChunkEnd;
        }
        piece = rest.substr(0, n);
        hasPiece = true;
        return used + n;
      }
      case State::ChunkEnd:
        if (rest.size() < 2) {
          if (!rest.empty() && rest[0] != '\r') return fail(ec, error::bad_chunk);
          ec = error::need_more;
          return used;
        }
        if (rest[0] != '\r' || rest[1] != '\n') return fail(ec, error::bad_chunk);
        used += 2;
        state_ = State::ChunkSize;
        continue;
      case State::ChunkSize: {
        if (rest.empty()) {
          ec = error::need_more;
          return used;
        }
        size_t n = parseChunkSize(rest, ec);
        if (n == 0) return used;
        used += n;
        continue;
      }
      case State::Trailers:
        return used + parseTrailers(rest, ec);
    }
  }
}

template <bool R>
void Parser<R>::putEof(error_code& ec) {
  ec = {};
  if (state_ == State::UntilEof) {
    state_ = State::Done;
  } else if (state_ != State::Done) {
    ec = error::partial_message;
  }
}

// Lines are taken as they complete, so what a head has said so far is known even if the rest
// never comes (a 408 still names the Host). A field is taken once the next line shows it is not
// folded; the bytes stay in the caller's buffer until the section is whole, so a pending field
// is kept as offsets.
template <bool R>
size_t Parser<R>::parseSection(std::string_view data, bool trailer, error_code& ec) {
  size_t pos = std::min(scanned_, data.size());  // the same bytes again, with more after them
  for (;;) {
    const void* lf =
        pos < data.size() ? std::memchr(data.data() + pos, '\n', data.size() - pos) : nullptr;
    if (lf == nullptr) {
      scanned_ = pos;
      if (sectionBytes_ + data.size() > maxHeaderBytes_) return fail(ec, error::header_limit);
      ec = error::need_more;
      return 0;
    }
    size_t eol = static_cast<const char*>(lf) - data.data();
    if (sectionBytes_ + eol + 1 > maxHeaderBytes_) return fail(ec, error::header_limit);
    if (eol == pos || data[eol - 1] != '\r') return fail(ec, error::bad_line_ending);
    size_t start = pos;
    std::string_view line = data.substr(start, eol - 1 - start);
    pos = eol + 1;
    if (!trailer && !startLineDone_) {
      if (!parseStartLine(line, ec)) return 0;
      startLineDone_ = true;
      headers.reserve(http::kTypicalFields);
      continue;
    }
    if (!line.empty() && isSpace(line.front())) {
      // obs-fold continues the field before it. RFC 9112 section 5.2: each fold becomes a
      // space before the value is used or forwarded, so no CRLF reaches the next hop in a value.
      if (!pendingField_) return fail(ec, error::bad_obs_fold);  // none before it
      if (folded_.empty()) folded_.assign(data.substr(pendingStart_, pendingSize_));
      folded_ += ' ';
      folded_ += trim(line);
      continue;
    }
    if (pendingField_) {
      pendingField_ = false;
      std::string_view field = folded_.empty() ? data.substr(pendingStart_, pendingSize_) : folded_;
      if (!parseField(field, trailer, ec)) return 0;
      folded_.clear();
    }
    if (line.empty()) {  // the empty line: the section's end
      scanned_ = 0;
      sectionBytes_ += pos;
      return pos;
    }
    pendingField_ = true;
    pendingStart_ = start;
    pendingSize_ = line.size();
  }
}

template <bool R>
size_t Parser<R>::parseHead(std::string_view data, error_code& ec) {
  size_t end = parseSection(data, false, ec);
  if (end == 0) return 0;
  startBody(ec);
  if (ec) return 0;
  headerDone_ = true;
  return end;
}

template <bool R>
bool Parser<R>::parseStartLine(std::string_view line, error_code& ec) {
  if constexpr (R) {
    size_t sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || !chars::isToken(line.substr(0, sp1)))
      return refuse(ec, error::bad_method);
    size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !chars::isTarget(line.substr(sp1 + 1, sp2 - sp1 - 1)))
      return refuse(ec, error::bad_target);
    Version v = parseVersion(line.substr(sp2 + 1));
    if (v == Version::Malformed || v == Version::OtherMajor) {
      versionUnsupported = v == Version::OtherMajor;
      return refuse(ec, error::bad_version);
    }
    method.assign(line.substr(0, sp1));
    target.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
    version = v == Version::Http10 ? 10 : 11;
  } else {
    // status-line = HTTP-version SP 3DIGIT SP [ reason ]; a missing SP after the code is
    // common enough from servers to accept.
    Version v = parseVersion(line.substr(0, 8));
    if (v == Version::Malformed || v == Version::OtherMajor || line.size() < 12 || line[8] != ' ')
      return refuse(ec, error::bad_version);
    if (!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) || line[9] == '0')
      return refuse(ec, error::bad_status);
    if (line.size() > 12 && (line[12] != ' ' || !isText(line.substr(13))))
      return refuse(ec, error::bad_reason);
    status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    version = v == Version::Http10 ? 10 : 11;
  }
  return true;
}

template <bool R>
bool Parser<R>::parseField(std::string_view line, bool trailer, error_code& ec) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return refuse(ec, error::bad_field);
  // The name is lowered on the stack: most fields are framing or hop-by-hop ones kept as flags,
  // or are copied once into the header list, so a string made here would be made in vain.
  std::string_view raw = line.substr(0, colon);
  char small[64];
  std::string large;
  char* lowered = small;
  if (raw.size() > sizeof small) {
    large.resize(raw.size());
    lowered = large.data();
  }
  // No whitespace between name and colon (RFC 9112 section 5.1): "Transfer-Encoding :" must
  // not be a field to one parser and junk to another.
  if (!chars::lowerToken(raw, lowered)) return refuse(ec, error::bad_field);
  std::string_view name(lowered, raw.size());
  std::string_view value = trim(line.substr(colon + 1));
  if (!isText(value)) return refuse(ec, error::bad_value);
  if (++fieldCount_ > maxHeaderCount_) {
    tooManyHeaders = true;
    return refuse(ec, error::header_limit);
  }
  if (trailer) {
    if (name != "content-length" && !http::isHopByHop(name))
      trailers.add(name, value);
    return true;
  }
  onField(name, value, ec);
  return !ec;
}

template <bool R>
void Parser<R>::onField(std::string_view name, std::string_view value, error_code& ec) {
  using chars::equalsLower;
  // By length first: most fields are none of these, and are told so by one comparison.
  switch (name.size()) {
    case 4:
      if (name == "host") {
        ++hostCount;
        host.assign(value);
        return;
      }
      break;
    case 14:
      if (name == "content-length") {
        if (!addContentLength(value)) fail(ec, error::bad_content_length);
        return;
      }
      break;
    case 17:
      if (name == "transfer-encoding") {
        // Only "chunked" alone is framing kgate can pass on. Anything else (gzip, "chunked,
        // gzip", identity) would make the body's end ambiguous between us and the next hop:
        // request smuggling. RFC 9112 section 6.3 says to refuse it.
        int codings = 0;
        chars::forEachListItem(value, [&](std::string_view c) {
          ++codings;
          chunked_ = equalsLower(c, "chunked");
        });
        chunked_ = chunked_ && codings == 1;
        ++transferEncodings_;
        if (!chunked_ || transferEncodings_ > 1) fail(ec, error::bad_transfer_encoding);
        return;
      }
      break;
    case 10:
      if (name == "connection") {
        chars::forEachListItem(value, [&](std::string_view o) {
          if (equalsLower(o, "close")) {
            connectionClose_ = true;
          } else if (equalsLower(o, "keep-alive")) {
            connectionKeepAlive_ = true;
          } else {
            connectionTokens_.emplace_back(o);  // a field to drop once the head is whole
            http::toLower(connectionTokens_.back());
          }
        });
        return;
      }
      break;
    case 2:
      if (name == "te") {
        chars::forEachListItem(value, [&](std::string_view t) {
          if (equalsLower(t, "trailers")) trailersAllowed = true;
        });
        return;
      }
      break;
    case 6:
      if (name == "expect" && equalsLower(value, "100-continue")) {
        expectContinue = true;
        return;
      }
      break;
  }
  if (!http::isHopByHop(name)) headers.add(name, value);
}

// Content-Length is one decimal number; a list of the same number, in one field or several,
// reads as that number (RFC 9112 section 6.3). Anything else leaves the length unknown: refused.
template <bool R>
bool Parser<R>::addContentLength(std::string_view value) {
  size_t i = 0;
  while (i <= value.size()) {
    size_t comma = value.find(',', i);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = trim(value.substr(i, comma - i));
    if (item.empty()) return false;
    uint64_t n = 0;
    for (char c : item) {
      if (!isDigit(c) || n > (std::numeric_limits<uint64_t>::max() - 9) / 10) return false;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (contentLength_ && *contentLength_ != n) return false;
    contentLength_ = n;
    i = comma + 1;
  }
  return true;
}

template <bool R>
void Parser<R>::startBody(error_code& ec) {
  for (const auto& t : connectionTokens_) headers.remove(t);
  if (transferEncodings_ > 0) {
    // Both framings at once is the classic smuggling request (RFC 9112 section 6.3 (3)); and an
    // HTTP/1.0 message with Transfer-Encoding has faulty framing (section 6.1).
    if (contentLength_ || version < 11) {
      fail(ec, error::bad_transfer_encoding);
      return;
    }
  }
  bool noBody = false;
  if constexpr (!R) noBody = skipBody_ || status / 100 == 1 || status == 204 || status == 304;
  if (noBody) {
    state_ = State::Done;
  } else if (chunked_) {
    state_ = State::ChunkSize;
  } else if (contentLength_) {
    remaining_ = *contentLength_;
    state_ = remaining_ > 0 ? State::Length : State::Done;
  } else if (R) {
    state_ = State::Done;  // a request without framing headers has no body
  } else {
    state_ = State::UntilEof;
    untilEof_ = true;
  }
}

template <bool R>
size_t Parser<R>::parseChunkSize(std::string_view data, error_code& ec) {
  const void* lf = std::memchr(data.data(), '\n', std::min(data.size(), kMaxChunkLine));
  if (lf == nullptr) {
    if (data.size() >= kMaxChunkLine) return fail(ec, error::bad_chunk);
    ec = error::need_more;
    return 0;
  }
  size_t eol = static_cast<const char*>(lf) - data.data();
  if (eol == 0 || data[eol - 1] != '\r') return fail(ec, error::bad_line_ending);
  std::string_view line = data.substr(0, eol - 1);
  uint64_t size = 0;
  size_t i = 0;
  for (; i < line.size(); ++i) {
    char c = line[i];
    int digit = isDigit(c)               ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
    if (digit < 0) break;
    if (size > (std::numeric_limits<uint64_t>::max() >> 4)) return fail(ec, error::bad_chunk);
    size = size * 16 + static_cast<uint64_t>(digit);
  }
  if (i == 0) return fail(ec, error::bad_chunk);
  // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): passed over, never forwarded.
  std::string_view ext = trim(line.substr(i));
  if (!ext.empty() && (ext.front() != ';' || !isText(ext)))
    return fail(ec, error::bad_chunk_extension);
  remaining_ = size;
  state_ = size > 0 ? State::ChunkData : State::Trailers;
  return eol + 1;
}

template <bool R>
size_t Parser<R>::parseTrailers(std::string_view data, error_code& ec) {
  size_t end = parseSection(data, true, ec);
  if (end > 0) state_ = State::Done;
  return end;
}

Error readError(const error_code& ec) {
  if (ec == net::error::operation_aborted) return Error::Aborted;
  return Error::PeerClosed;  // eof, reset, broken TLS: the peer is gone either way
}

template <bool R>
awaitable<Error> readHead(Transport& t, ReadBuffer& buf, Parser<R>& parser, size_t maxBuffer) {
  for (;;) {
    // Empty lines before a request line are ignored (RFC 9112 section 2.2): some clients send
    // a CRLF after a POST body.
    if constexpr (R) {
      while (!parser.gotSome() && !buf.empty() &&
             (buf.data().front() == '\r' || buf.data().front() == '\n'))
        buf.consume(1);
    }
    if (!buf.empty()) {
      error_code ec;
      buf.consume(parser.put(buf.data(), ec));
      if (parser.headerDone()) co_return Error::Ok;
      if (ec == error::header_limit) co_return Error::HeadersTooLarge;
      if (parser.versionUnsupported) co_return Error::VersionNotSupported;
      if (ec != error::need_more) co_return Error::Protocol;
    }
    auto space = buf.prepare(kHeadReadSize, maxBuffer);
    if (space.empty()) co_return Error::HeadersTooLarge;
    auto [ec, n] = co_await t.readSome(space.data(), space.size());
    if (ec) {
      // A close in the middle of a head is a truncated message; before any byte, a plain close.
      co_return (ec == net::error::eof && parser.gotSome()) ? Error::Protocol : readError(ec);
    }
    buf.commit(n);
  }
}

template <bool R>
awaitable<Error> readBody(Transport& t, ReadBuffer& buf, Parser<R>& parser, http::BodyChunk& out) {
  for (;;) {
    if (parser.done()) {
      out = http::BodyChunk{{}, true, parser.trailers.empty() ? nullptr : &parser.trailers};
      co_return Error::Ok;
    }
    if (!buf.empty()) {
      error_code ec;
      size_t used = parser.put(buf.data(), ec);
      buf.consume(used);  // the piece's bytes stay in memory until the next read fills the buffer
      if (ec && ec != error::need_more) co_return Error::Protocol;
      if (parser.hasPiece) {
        bool done = parser.done();
        out = http::BodyChunk{parser.piece, done,
                              done && !parser.trailers.empty() ? &parser.trailers : nullptr};
        co_return Error::Ok;
      }
      if (parser.done()) continue;
    }
    auto space = buf.prepare(kBodyReadSize<R>, kBodyReadSize<R> * 2);
    if (space.empty()) co_return Error::Protocol;  // cannot happen: a chunk line is bounded
    auto [ec, n] = co_await t.readSome(space.data(), space.size());
    if (ec == net::error::eof && parser.headerDone()) {
      error_code pec;
      parser.putEof(pec);  // ends bodies delimited by the connection's close
      if (!pec) continue;
      co_return Error::PeerClosed;
    }
    if (ec) co_return readError(ec);
    buf.commit(n);
  }
}

template class Parser<true>;
template class Parser<false>;
template awaitable<Error> readHead(Transport&, ReadBuffer&, Parser<true>&, size_t);
template awaitable<Error> readHead(Transport&, ReadBuffer&, Parser<false>&, size_t);
template awaitable<Error> readBody(Transport&, ReadBuffer&, Parser<true>&, http::BodyChunk&);
template awaitable<Error> readBody(Transport&, ReadBuffer&, Parser<false>&, http::BodyChunk&);

}  // namespace kgate::h1
