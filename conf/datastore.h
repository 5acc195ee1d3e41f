// The master's datastoreEndpoint: where its authority keeps its state. Parsed once, at config
// load, so a bad value stops the node before anything starts; auth/mariadb_store.h connects.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/result.h"

namespace kgate::conf {

// mysql://user:pass@host[:port]/database[?params], or Kuscia's spelling with the host in
// go-sql-driver's tcp(host:port). User and password may be percent-encoded.
//   tls=false (default) | true (verify the server against the system CAs, or tls-ca) |
//       skip-verify (encrypt without verifying: testing only)
//   tls-ca=/path/ca.pem, timeout=5s (connect, and each read or write)
//   charset, parseTime, loc: go-sql-driver options in Kuscia configs; accepted and ignored
//       (kgate always talks utf8mb4 and stores times as Unix seconds)
struct MysqlDsn {
  enum class Tls { Off, Verify, SkipVerify };
  std::string user, password, host;  // host: a name or an IP literal without brackets
  uint16_t port = 3306;
  std::string database;
  Tls tls = Tls::Off;
  std::string tlsCa;
  std::chrono::seconds timeout{5};

  // "user@host:port/database" for messages: never the password.
  std::string display() const;
};

// Errors say which part is wrong without repeating the password.
Result<MysqlDsn> parseMysqlDsn(std::string_view url);

}  // namespace kgate::conf
