// datastoreEndpoint: both spellings (kgate's and Kuscia's tcp(...)), options, and errors that
// never repeat the password.
#include "conf/datastore.h"

#include <gtest/gtest.h>

namespace kgate::conf {
namespace {

MysqlDsn parsedDsn(std::string_view url) {
  auto r = parseMysqlDsn(url);
  EXPECT_TRUE(r.ok()) << url << ": " << (r ? "" : r.error());
  return r ? *r : MysqlDsn{};
}

std::string dsnErrorOf(std::string_view url) {
  auto r = parseMysqlDsn(url);
  EXPECT_FALSE(r.ok()) << url;
  return r ? "" : r.error();
}

TEST(MysqlDsn, KgateForm) {
  MysqlDsn d = parsedDsn("mysql://kgate:s3cret@db.example.com:3307/kgate_master");
  EXPECT_EQ(d.user, "kgate");
  EXPECT_EQ(d.password, "s3cret");
  EXPECT_EQ(d.host, "db.example.com");
  EXPECT_EQ(d.port, 3307);
  EXPECT_EQ(d.database, "kgate_master");
  EXPECT_EQ(d.tls, MysqlDsn::Tls::Off);
  EXPECT_EQ(d.timeout, std::chrono::seconds(5));
  EXPECT_EQ(d.display(), "kgate@db.example.com:3307/kgate_master");
  EXPECT_EQ(parsedDsn("mysql://u:p@10.0.0.1/db").port, 3306);
  EXPECT_EQ(parsedDsn("mysql://u@10.0.0.1/db").password, "");
}

TEST(MysqlDsn, KusciaFormWithGoDriverOptions) {
  MysqlDsn d = parsedDsn(
      "mysql://root:pw@tcp(127.0.0.1:3306)/kuscia?charset=utf8mb4&parseTime=True&loc=Local");
  EXPECT_EQ(d.host, "127.0.0.1");
  EXPECT_EQ(d.port, 3306);
  EXPECT_EQ(d.database, "kuscia");
}

TEST(MysqlDsn, PasswordsWithSpecialCharacters) {
  EXPECT_EQ(parsedDsn("mysql://u:p%40ss%2Fw%3Ad@h/db").password, "p@ss/w:d");
  EXPECT_EQ(parsedDsn("mysql://u:p@ss:w@h/db").password, "p@ss:w");  // split at the last '@'
  EXPECT_EQ(parsedDsn("mysql://us%65r:x@h/db").user, "user");
}

TEST(MysqlDsn, Ipv6) {
  MysqlDsn d = parsedDsn("mysql://u:p@[::1]:3310/db");
  EXPECT_EQ(d.host, "::1");
  EXPECT_EQ(d.port, 3310);
  EXPECT_EQ(d.display(), "u@[::1]:3310/db");
  EXPECT_NE(dsnErrorOf("mysql://u:p@::1:3310/db").find("brackets"), std::string::npos);
}

TEST(MysqlDsn, Options) {
  EXPECT_EQ(parsedDsn("mysql://u:p@h/db?tls=true").tls, MysqlDsn::Tls::Verify);
  EXPECT_EQ(parsedDsn("mysql://u:p@h/db?tls=skip-verify").tls, MysqlDsn::Tls::SkipVerify);
  MysqlDsn ca = parsedDsn("mysql://u:p@h/db?tls-ca=%2Fetc%2Fdb-ca.pem&timeout=2s");
  EXPECT_EQ(ca.tls, MysqlDsn::Tls::Verify);  // a CA means verify
  EXPECT_EQ(ca.tlsCa, "/etc/db-ca.pem");
  EXPECT_EQ(ca.timeout, std::chrono::seconds(2));
}

TEST(MysqlDsn, ErrorsNameThePartAndNeverThePassword) {
  struct Case {
    std::string url, message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"postgres://u:hunter2@h/db", "must start with mysql://"},
           {"mysql://h:3306/db", "no user"},
           {"mysql://:hunter2@h/db", "no user name"},
           {"mysql://u:hunter2@h:3306", "no database name"},
           {"mysql://u:hunter2@h:0/db", "port \"0\" is not a number from 1 to 65535"},
           {"mysql://u:hunter2@h:99999/db", "port \"99999\""},
           {"mysql://u:hunter2@h:x/db", "port \"x\""},
           {"mysql://u:hunter2@/db", "no host"},
           {"mysql://u:hunter2@bad_host!/db", "is not a host name or IP address"},
           {"mysql://u:hunter2@unix(/run/mysqld.sock)/db", "only tcp(host:port)"},
           {"mysql://u:hunter2@h/my-db", "database name \"my-db\" must be"},
           {"mysql://u:hunter2@h/db?tls=maybe", "tls=maybe is not one of"},
           {"mysql://u:hunter2@h/db?timeout=0s", "timeout=0s must be"},
           {"mysql://u:hunter2@h/db?sslmode=on", "unknown option \"sslmode\""},
           {"mysql://u:hunter2%zz@h/db", "broken %-escape in the password"},
       }) {
    std::string e = dsnErrorOf(c.url);
    EXPECT_NE(e.find(c.message), std::string::npos) << c.url << " -> " << e;
    EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
    EXPECT_EQ(e.rfind("datastoreEndpoint: ", 0), 0u) << e;
  }
}

}  // namespace
}  // namespace kgate::conf
