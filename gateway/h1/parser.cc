#include "gateway/h1/parser.h"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include <array>

namespace kgate::h1 {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  http::toLower(out);
  return out;
}

// http::isHopByHop by Beast's id for the name; the table is built from that function once, so
// the two cannot disagree.
bool isHopByHop(bhttp::field f) {
  static const auto table = [] {
    std::array<bool, static_cast<size_t>(bhttp::field::xref) + 1> t{};
    for (size_t i = 1; i < t.size(); ++i) {
      auto name = bhttp::to_string(static_cast<bhttp::field>(i));
      t[i] = http::isHopByHop(lower(std::string_view(name.data(), name.size())));
    }
    return t;
  }();
  auto i = static_cast<size_t>(f);
  return i < table.size() && table[i];
}

// Splits a comma-separated header value into trimmed, lower-cased tokens.
void splitTokens(std::string_view v, std::vector<std::string>& out) {
  size_t i = 0;
  while (i <= v.size()) {
    size_t comma = v.find(',', i);
    if (comma == std::string_view::npos) comma = v.size();
    std::string_view t = v.substr(i, comma - i);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (!t.empty()) out.push_back(lower(t));
    i = comma + 1;
  }
}

// Beast reads only HTTP/1.0 and HTTP/1.1 and refuses any other version as malformed. RFC 9112
// section 2.3 asks that a later 1.x be processed as 1.1, and RFC 9110 section 15.6.6 that
// another major version be answered 505; so the version of a complete request line is looked at
// first. A 1.x above 1.1 is rewritten to 1.1 in place; false for another major version. What is
// not "HTTP/" DIGIT "." DIGIT is left for Beast to refuse (400).
bool acceptVersion(std::span<char> line) {
  std::string_view l(line.data(), line.size());
  if (l.ends_with('\r')) l.remove_suffix(1);
  size_t space = l.rfind(' ');
  if (space == std::string_view::npos) return true;
  std::string_view v = l.substr(space + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (v.size() != 8 || !v.starts_with("HTTP/") || !digit(v[5]) || v[6] != '.' || !digit(v[7]))
    return true;
  if (v[5] != '1') return false;
  if (v[7] > '1') line[space + 1 + 7] = '1';
  return true;
}

// Body reads ask for this much room (the buffer may grow to twice that): large enough for bulk
// transfers, small enough to bound per-stream memory. 64 KiB is the HTTP/2 writer's batch
// (h2/session.cc), one upstream read per batch; with 32 KiB a 1 MiB response proxied to an h2
// client took a third more syscalls (twice the reads and wake-ups, more small TLS records).
constexpr size_t kBodyReadSize = 64 * 1024;

}  // namespace

template <bool R>
Parser<R>::Parser(uint32_t maxHeaderBytes, uint32_t maxHeaderCount)
    : maxHeaderBytes_(maxHeaderBytes), maxHeaderCount_(maxHeaderCount) {
  this->header_limit(maxHeaderBytes);
  this->body_limit(boost::none);  // the proxy enforces limits.maxBodyBytes as bytes flow
  this->eager(false);             // one step per put(): at most one body piece each
}

template <bool R>
void Parser<R>::on_request_impl(bhttp::verb, boost::beast::string_view m, boost::beast::string_view t, int v,
                                boost::beast::error_code&) {
  method.assign(m.data(), m.size());
  target.assign(t.data(), t.size());
  version = v;
  headBytes_ = m.size() + t.size() + 12;
  headers.reserve(http::kTypicalFields);
}

template <bool R>
void Parser<R>::on_response_impl(int code, boost::beast::string_view, int v,
                                 boost::beast::error_code&) {
  status = code;
  version = v;
  headBytes_ = 16;
  headers.reserve(http::kTypicalFields);
}

template <bool R>
void Parser<R>::on_field_impl(bhttp::field field, boost::beast::string_view nameIn,
                              boost::beast::string_view valueIn,
                              boost::beast::error_code& ec) {
  std::string_view name(nameIn.data(), nameIn.size());
  std::string_view value(valueIn.data(), valueIn.size());
  if (++fieldCount_ > maxHeaderCount_) {
    tooManyHeaders = true;
    ec = bhttp::error::header_limit;
    return;
  }
  headBytes_ += name.size() + value.size() + 4;
  if (headBytes_ > maxHeaderBytes_) {
    ec = bhttp::error::header_limit;
    return;
  }
  // Beast has already recognised the name, case-insensitively: the special fields are picked
  // out by that, not by comparing a lower-cased copy of every name with each of them.
  using F = bhttp::field;
  if (headerDone_) {
    if (!isHopByHop(field) && field != F::content_length) trailers.add(lower(name), std::string(value));
    return;
  }
  switch (field) {
    case F::host:
      ++hostCount;
      host.assign(value);
      return;
    case F::connection:
      splitTokens(value, connectionTokens_);
      return;
    case F::transfer_encoding: {
      // Only "chunked" alone is framing kgate can pass on. Anything else (gzip, "chunked, gzip",
      // identity) would make the body's end ambiguous between us and the next hop: request
      // smuggling. RFC 9112 section 6.3 says to refuse it.
      std::vector<std::string> codings;
      splitTokens(value, codings);
      if (codings.size() != 1 || codings[0] != "chunked") ec = bhttp::error::bad_transfer_encoding;
      return;
    }
    case F::te: {
      std::vector<std::string> te;
      splitTokens(value, te);
      for (auto& t : te)
        if (t == "trailers") trailersAllowed = true;
      return;
    }
    case F::expect:
      if (iequals(value, "100-continue")) {
        expectContinue = true;
        return;
      }
      break;
    // Framing headers are Beast's business (and reach the model as contentLength/hasBody).
    case F::content_length:
      return;
    default:
      if (isHopByHop(field)) return;
  }
  headers.add(lower(name), std::string(value));
}

template <bool R>
void Parser<R>::on_header_impl(boost::beast::error_code&) {
  headerDone_ = true;
  for (const auto& t : connectionTokens_)
    if (t != "close" && t != "keep-alive") headers.remove(t);
}

template <bool R>
size_t Parser<R>::on_body_impl(boost::beast::string_view body, boost::beast::error_code&) {
  piece = std::string_view(body.data(), body.size());
  hasPiece = true;
  return body.size();
}

template <bool R>
size_t Parser<R>::on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                     boost::beast::error_code&) {
  piece = std::string_view(body.data(), body.size());
  hasPiece = true;
  return body.size();
}

Error readError(const error_code& ec) {
  if (ec == net::error::operation_aborted) return Error::Aborted;
  return Error::PeerClosed;  // eof, reset, broken TLS: the peer is gone either way
}

template <bool R>
awaitable<Error> readHead(Transport& t, ReadBuffer& buf, Parser<R>& parser, size_t maxBuffer) {
  size_t scanned = 0;  // bytes of the request line already searched for its end
  for (;;) {
    // Empty lines before a request line are ignored (RFC 9112 section 2.2): some clients send
    // a CRLF after a POST body.
    if constexpr (R) {
      while (!parser.got_some() && !buf.empty() &&
             (buf.data().front() == '\r' || buf.data().front() == '\n'))
        buf.consume(1);
      // Beast takes the request line only once all of it is here: look before it does.
      if (!parser.versionChecked) {
        size_t eol = buf.data().find('\n', std::min(scanned, buf.size()));
        scanned = buf.size();
        if (eol != std::string_view::npos) {
          parser.versionChecked = true;
          if (!acceptVersion(buf.mutableData().first(eol))) co_return Error::VersionNotSupported;
        }
      }
    }
    if (!buf.empty()) {
      boost::beast::error_code ec;
      size_t used = parser.put(net::buffer(buf.data().data(), buf.size()), ec);
      buf.consume(used);
      if (parser.is_header_done()) co_return Error::Ok;
      if (ec == bhttp::error::header_limit) co_return Error::HeadersTooLarge;
      if (ec && ec != bhttp::error::need_more) co_return Error::Protocol;
      if (used > 0 && !ec) continue;
    }
    auto space = buf.prepare(kHeadReadSize, maxBuffer);
    if (space.empty()) co_return Error::HeadersTooLarge;
    auto [ec, n] = co_await t.readSome(space.data(), space.size());
    if (ec) {
      // A close in the middle of a head is a truncated message; before any byte, a plain close.
      co_return (ec == net::error::eof && parser.got_some()) ? Error::Protocol : readError(ec);
    }
    buf.commit(n);
  }
}

template <bool R>
awaitable<Error> readBody(Transport& t, ReadBuffer& buf, Parser<R>& parser, http::BodyChunk& out) {
  for (;;) {
    if (parser.is_done()) {
      out = http::BodyChunk{{}, true, parser.trailers.empty() ? nullptr : &parser.trailers};
      co_return Error::Ok;
    }
    if (!buf.empty()) {
      parser.hasPiece = false;
      boost::beast::error_code ec;
      size_t used = parser.put(net::buffer(buf.data().data(), buf.size()), ec);
      buf.consume(used);  // the piece's bytes stay in memory until the next read fills the buffer
      if (ec && ec != bhttp::error::need_more) co_return Error::Protocol;
      if (parser.hasPiece && !parser.piece.empty()) {
        bool done = parser.is_done();
        out = http::BodyChunk{parser.piece, done,
                              done && !parser.trailers.empty() ? &parser.trailers : nullptr};
        co_return Error::Ok;
      }
      if (parser.is_done()) continue;
      if (used > 0 && !ec) continue;  // a chunk header or similar: keep parsing
    }
    auto space = buf.prepare(kBodyReadSize, kBodyReadSize * 2);
    if (space.empty()) co_return Error::Protocol;  // a chunk line longer than the buffer
    auto [ec, n] = co_await t.readSome(space.data(), space.size());
    if (ec == net::error::eof && parser.is_header_done()) {
      boost::beast::error_code pec;
      parser.put_eof(pec);  // ends bodies delimited by the connection's close
      if (!pec && parser.is_done()) continue;
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
