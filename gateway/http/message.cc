#include "gateway/http/message.h"

#include <algorithm>
#include <charconv>

namespace kgate::http {

const std::string* Headers::find(std::string_view name) const {
  for (const auto& f : fields_)
    if (f.name == name) return &f.value;
  return nullptr;
}

std::string_view Headers::get(std::string_view name) const {
  const std::string* v = find(name);
  return v ? std::string_view(*v) : std::string_view();
}

void Headers::add(std::string_view name, std::string_view value) {
  Field& f = fields_.emplace_back();
  f.name.assign(name);
  f.value.assign(value);
}

void Headers::set(std::string_view name, std::string value) {
  bool placed = false;
  auto out = fields_.begin();
  for (auto it = fields_.begin(); it != fields_.end(); ++it) {
    if (it->name == name) {
      if (placed) continue;  // drop later duplicates
      it->value = std::move(value);
      placed = true;
    }
    if (out != it) *out = std::move(*it);
    ++out;
  }
  fields_.erase(out, fields_.end());
  if (!placed) fields_.push_back(Field{std::string(name), std::move(value)});
}

void Headers::setIfAbsent(std::string_view name, std::string value) {
  if (!has(name)) fields_.push_back(Field{std::string(name), std::move(value)});
}

size_t Headers::remove(std::string_view name) {
  size_t before = fields_.size();
  std::erase_if(fields_, [&](const Field& f) { return f.name == name; });
  return before - fields_.size();
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

bool parseContentLength(std::string_view v, uint64_t& out) {
  if (v.empty()) return false;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

bool isHopByHop(std::string_view n) {
  // By length first: every field added to a head is asked, and few are hop-by-hop.
  switch (n.size()) {
    case 2: return n == "te";
    case 7: return n == "upgrade" || n == "trailer";
    case 10: return n == "connection" || n == "keep-alive";
    case 14: return n == "http2-settings";
    case 16: return n == "proxy-connection";
    case 17: return n == "transfer-encoding";
    default: return false;
  }
}

void toLower(std::string& s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
}

std::string_view stripPort(std::string_view a) {
  if (!a.empty() && a.front() == '[') {
    auto close = a.find(']');
    return close == std::string_view::npos ? a : a.substr(0, close + 1);
  }
  auto colon = a.rfind(':');
  if (colon == std::string_view::npos) return a;
  if (a.find(':') != colon) return a;  // bare IPv6 without brackets: leave it
  return a.substr(0, colon);
}

}  // namespace kgate::http
