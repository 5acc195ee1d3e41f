// HTTP/1.1 message parsing (RFC 9112), fed from our ReadBuffer. The head is collected into the
// neutral model (lower-case names, hop-by-hop headers turned into flags) and body pieces are
// handed out as views into the read buffer: no copy of body bytes.
//
// Strict where leniency lets two parsers disagree on where a message ends: CRLF line endings
// only, no space before a field's colon, Transfer-Encoding only "chunked" and never with
// Content-Length or in HTTP/1.0, Content-Length one number; obs-fold is unfolded.
#pragma once

#include <boost/beast/http/error.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/asio.h"
#include "gateway/error.h"
#include "gateway/http/message.h"
#include "gateway/read_buffer.h"
#include "gateway/transport.h"

namespace kgate::h1 {

// Parse failures are reported with Beast's HTTP error codes: their names and messages say what
// was wrong ("bad field", "bad chunk", "header limit exceeded").
using ParseError = boost::beast::http::error;

template <bool isRequest>
class Parser {
 public:
  Parser(uint32_t maxHeaderBytes, uint32_t maxHeaderCount);

  // Start line.
  std::string method;
  std::string target;
  int status = 0;
  int version = 11;
  bool versionUnsupported = false;  // a request's major version is not 1 (505, not 400)
  // Header.
  http::Headers headers;  // regular fields only
  std::string host;
  int hostCount = 0;
  bool expectContinue = false;
  bool trailersAllowed = false;
  bool tooManyHeaders = false;
  http::Headers trailers;
  // The body piece produced by the last put(), if any.
  std::string_view piece;
  bool hasPiece = false;

  // Parses from the start of data and returns how many bytes it used. A head (and a trailer
  // section) is used only once it is whole: until then put() returns 0 with need_more and the
  // caller passes the same bytes again with more after them. A body step yields at most one
  // piece. need_more asks for more bytes; any other error is final.
  size_t put(std::string_view data, error_code& ec);
  // The connection was closed: ends a body delimited by the close, else partial_message.
  void putEof(error_code& ec);
  // The response answers a HEAD request: whatever its framing headers say, no body follows.
  void skipBody() { skipBody_ = true; }

  bool gotSome() const { return gotSome_; }
  bool headerDone() const { return headerDone_; }
  bool done() const { return state_ == State::Done; }
  bool chunked() const { return chunked_; }
  std::optional<uint64_t> contentLength() const { return contentLength_; }
  // The connection may carry another message after this one.
  bool keepAlive() const;

 private:
  enum class State {
    Head,
    Length,
    ChunkSize,
    ChunkData,
    ChunkEnd,
    Trailers,
    UntilEof,
    Done,
    Failed
  };

  size_t parseHead(std::string_view data, error_code& ec);
  size_t parseTrailers(std::string_view data, error_code& ec);
  size_t parseChunkSize(std::string_view data, error_code& ec);
  // Takes the lines of a head or trailer section as they complete; at the empty line that ends
  // it, returns its size, else 0 (ec says why).
  size_t parseSection(std::string_view data, bool trailer, error_code& ec);
  bool parseStartLine(std::string_view line, error_code& ec);
  // Checks one field line and hands it to onField, or adds it to trailers.
  bool parseField(std::string_view line, bool trailer, error_code& ec);
  void onField(std::string_view name, std::string_view value, error_code& ec);
  bool addContentLength(std::string_view value);
  // Decides how the body is delimited once the head is whole.
  void startBody(error_code& ec);
  // Records a final error; 0 bytes used.
  size_t fail(error_code& ec, ParseError e);
  bool refuse(error_code& ec, ParseError e);  // fail() for the steps that answer yes or no

  uint32_t maxHeaderBytes_;
  uint32_t maxHeaderCount_;
  State state_ = State::Head;
  bool gotSome_ = false;
  bool headerDone_ = false;
  bool skipBody_ = false;
  // A head or trailer section in progress: where its next line starts, and the last field,
  // held back until the next line shows whether it is folded.
  size_t scanned_ = 0;
  bool startLineDone_ = false;
  bool pendingField_ = false;
  size_t pendingStart_ = 0;
  size_t pendingSize_ = 0;
  std::string folded_;         // the pending field with its folds replaced, when it has any
  uint64_t sectionBytes_ = 0;  // head and trailer bytes so far, against maxHeaderBytes
  uint32_t fieldCount_ = 0;
  uint64_t remaining_ = 0;  // of a Content-Length body or of the current chunk
  std::optional<uint64_t> contentLength_;
  int transferEncodings_ = 0;  // Transfer-Encoding fields seen
  bool chunked_ = false;
  bool untilEof_ = false;  // a response body delimited by the connection's close
  bool connectionClose_ = false;
  bool connectionKeepAlive_ = false;
  std::vector<std::string> connectionTokens_;  // other Connection options: fields to drop
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
