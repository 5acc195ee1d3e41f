// HTTP/1.1 message parsing on Beast's basic_parser, fed from our ReadBuffer. The head is
// collected into the neutral model (lower-case names, hop-by-hop headers turned into flags) and
// body pieces are handed out as views into the read buffer: no copy of body bytes.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "gateway/asio.h"
#include "gateway/error.h"
#include "gateway/http/message.h"
#include "gateway/read_buffer.h"
#include "gateway/transport.h"

namespace kgate::h1 {

namespace bhttp = boost::beast::http;

template <bool isRequest>
class Parser final : public bhttp::basic_parser<isRequest> {
 public:
  Parser(uint32_t maxHeaderBytes, uint32_t maxHeaderCount);

  // Start line.
  std::string method;
  std::string target;
  int status = 0;
  int version = 11;
  bool versionChecked = false;  // readHead has looked at the request line's version
  // Header.
  http::Headers headers;      // regular fields only
  std::string host;
  int hostCount = 0;
  bool expectContinue = false;
  bool trailersAllowed = false;
  bool tooManyHeaders = false;
  http::Headers trailers;
  // The body piece produced by the last put(), if any.
  std::string_view piece;
  bool hasPiece = false;

 private:
  void on_request_impl(bhttp::verb, boost::beast::string_view method, boost::beast::string_view target,
                       int version, boost::beast::error_code&) override;
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        boost::beast::error_code&) override;
  void on_field_impl(bhttp::field, boost::beast::string_view name, boost::beast::string_view value,
                     boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code&) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>&, boost::beast::error_code&) override {}
  size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) override;
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            boost::beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                            boost::beast::error_code&) override;
  void on_finish_impl(boost::beast::error_code&) override {}

  uint32_t maxHeaderBytes_;
  uint32_t maxHeaderCount_;
  uint32_t fieldCount_ = 0;
  // Beast checks header_limit per put() only, and readHead drops the fields it has parsed from
  // the buffer; this running total makes the limit hold however the head is segmented.
  uint64_t headBytes_ = 0;
  bool headerDone_ = false;
  std::vector<std::string> connectionTokens_;
};

using RequestParser = Parser<true>;
using ResponseParser = Parser<false>;

// readHead's first read asks for this much room: most heads fit.
constexpr size_t kHeadReadSize = 4 * 1024;

// Reads until the parser has a whole head. maxBuffer bounds what a head may occupy.
template <bool isRequest>
awaitable<Error> readHead(Transport& t, ReadBuffer& buf, Parser<isRequest>& parser,
                          size_t maxBuffer);

// Next body piece (a view into buf, valid until the next call), or the end.
template <bool isRequest>
awaitable<Error> readBody(Transport& t, ReadBuffer& buf, Parser<isRequest>& parser,
                          http::BodyChunk& out);

// Maps a socket read failure to an Error.
Error readError(const error_code& ec);

}  // namespace kgate::h1
