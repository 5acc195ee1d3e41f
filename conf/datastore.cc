#include "conf/datastore.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "conf/duration.h"
#include "conf/endpoint.h"

namespace kgate::conf {
namespace {

constexpr std::string_view kScheme = "mysql://";
constexpr std::string_view kForm = "mysql://user:pass@host:3306/database";

Failure badDsn(const std::string& why) {
  return fail("datastoreEndpoint: " + why + " (expected " + std::string(kForm) + ")");
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding; false on a broken escape.
bool percentDecode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    int hi = i + 2 < in.size() ? hexValue(in[i + 1]) : -1;
    int lo = hi >= 0 ? hexValue(in[i + 2]) : -1;
    if (lo < 0) return false;
    out += char(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool isIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$')) return false;
  return true;
}

Result<void> readHostPort(std::string_view hp, MysqlDsn& dsn) {
  std::string_view host = hp, port;
  if (hp.starts_with('[')) {  // [v6]:port
    auto close = hp.find(']');
    if (close == std::string_view::npos) return badDsn("unclosed '[' in the host");
    host = hp.substr(1, close - 1);
    std::string_view rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return badDsn("unexpected text after the IPv6 address");
      port = rest.substr(1);
    }
  } else if (std::count(hp.begin(), hp.end(), ':') > 1) {
    return badDsn("write an IPv6 host in brackets, e.g. [::1]:3306");
  } else if (auto colon = hp.find(':'); colon != std::string_view::npos) {
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
  }
  if (host.empty()) return badDsn("no host");
  if (!isIpLiteral(host) && !isDnsName(host))
    return badDsn("\"" + std::string(host) + "\" is not a host name or IP address");
  dsn.host = std::string(host);
  if (!port.empty() || hp.ends_with(':')) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return badDsn("port \"" + std::string(port) + "\" is not a number from 1 to 65535");
    dsn.port = static_cast<uint16_t>(value);
  }
  return {};
}

Result<void> readParams(std::string_view query, MysqlDsn& dsn) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string value;
    if (!percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), value))
      return badDsn("broken %-escape in option " + std::string(key));
    if (key == "tls") {
      if (value == "false" || value == "") dsn.tls = MysqlDsn::Tls::Off;
      else if (value == "true") dsn.tls = MysqlDsn::Tls::Verify;
      else if (value == "skip-verify") dsn.tls = MysqlDsn::Tls::SkipVerify;
      else return badDsn("tls=" + value + " is not one of false, true, skip-verify");
    } else if (key == "tls-ca") {
      if (value.empty()) return badDsn("tls-ca needs a path to a PEM file");
      dsn.tlsCa = value;
    } else if (key == "timeout") {
      auto d = parseDuration(value);
      if (!d || d->count() < 1000 || d->count() % 1000 != 0)
        return badDsn("timeout=" + value + " must be a whole number of seconds, at least 1s");
      dsn.timeout = std::chrono::duration_cast<std::chrono::seconds>(*d);
    } else if (key != "charset" && key != "parseTime" && key != "loc") {
      return badDsn("unknown option \"" + std::string(key) +
                    "\" (kgate knows tls, tls-ca, timeout)");
    }
  }
  if (!dsn.tlsCa.empty() && dsn.tls == MysqlDsn::Tls::Off) dsn.tls = MysqlDsn::Tls::Verify;
  return {};
}

}  // namespace

std::string MysqlDsn::display() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return user + "@" + h + ":" + std::to_string(port) + "/" + database;
}

Result<MysqlDsn> parseMysqlDsn(std::string_view url) {
  if (!url.starts_with(kScheme)) return badDsn("must start with mysql://");
  std::string_view rest = url.substr(kScheme.size());
  MysqlDsn dsn;
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // The password may hold '@' and '/' unescaped (Go's driver allows it): split at the last '@'.
  auto at = rest.rfind('@');
  if (at == std::string_view::npos) return badDsn("no user (user:pass@ before the host)");
  std::string_view userInfo = rest.substr(0, at);
  rest = rest.substr(at + 1);
  auto colon = userInfo.find(':');
  if (!percentDecode(userInfo.substr(0, colon), dsn.user))
    return badDsn("broken %-escape in the user name");
  if (colon != std::string_view::npos && !percentDecode(userInfo.substr(colon + 1), dsn.password))
    return badDsn("broken %-escape in the password");
  if (dsn.user.empty()) return badDsn("no user name");

  auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return badDsn("no database name (/database after the host)");
  }
  std::string_view hostPart = rest.substr(0, slash);
  if (hostPart.starts_with("tcp(") && hostPart.ends_with(")")) {
    hostPart = hostPart.substr(4, hostPart.size() - 5);
  } else if (hostPart.find('(') != std::string_view::npos) {
    return badDsn("only tcp(host:port) is supported as a network address");
  }
  if (auto r = readHostPort(hostPart, dsn); !r) return fail(r.error());
  dsn.database = std::string(rest.substr(slash + 1));
  if (!isIdentifier(dsn.database))
    return badDsn("database name \"" + dsn.database +
                  "\" must be 1-64 letters, digits, '_' or '$'");
  if (auto r = readParams(query, dsn); !r) return fail(r.error());
  return dsn;
}

}  // namespace kgate::conf
