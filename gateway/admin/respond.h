// Small helpers for handlers that answer by themselves (metrics, health, admin API).
#pragma once

#include <string>
#include <string_view>

#include "gateway/stream.h"

namespace kgate::admin {

// Writes a whole response. The request body, if any, is left unread (the codec discards or
// closes).
awaitable<void> respond(ServerStream& stream, int status, std::string_view contentType,
                        std::string body, const http::Headers* extra = nullptr);

// Reads a request body of at most limit bytes; false if it is larger or the stream failed.
awaitable<bool> readAll(ServerStream& stream, size_t limit, std::string& out);

}  // namespace kgate::admin
