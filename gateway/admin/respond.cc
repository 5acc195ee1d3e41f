#include "gateway/admin/respond.h"

namespace kgate::admin {

awaitable<void> respond(ServerStream& stream, int status, std::string_view contentType,
                        std::string body, const http::Headers* extra) {
  http::ResponseHead head;
  head.status = status;
  head.headers.add("content-type", contentType);
  head.headers.add("cache-control", "no-store");
  if (extra)
    for (const auto& f : *extra) head.headers.add(f.name, f.value);
  head.contentLength = body.size();
  bool noBody = body.empty() || stream.request().method == "HEAD";
  if (co_await stream.writeHead(head, noBody) != Error::Ok) co_return;
  if (!noBody) co_await stream.writeBody(body, true);
}

awaitable<bool> readAll(ServerStream& stream, size_t limit, std::string& out) {
  for (;;) {
    http::BodyChunk chunk;
    if (co_await stream.readBody(chunk) != Error::Ok) co_return false;
    if (out.size() + chunk.data.size() > limit) co_return false;
    out.append(chunk.data);
    if (chunk.last) co_return true;
  }
}

}  // namespace kgate::admin
