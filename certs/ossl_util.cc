#include "certs/ossl_util.h"

#include <arpa/inet.h>

#include <climits>

namespace kgate::certs::detail {

std::string opensslError(std::string_view what) {
  unsigned long code = ERR_get_error();
  std::string out(what);
  if (code == 0) {
    out += ": unknown OpenSSL error";
  } else {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

Bio memReader(std::string_view text) {
  if (text.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(len));
}

std::string canonicalIp(const std::string& s) {
  unsigned char addr[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, s.c_str(), addr) == 1) {
    return inet_ntop(AF_INET, addr, text, sizeof text) ? text : "";
  }
  if (inet_pton(AF_INET6, s.c_str(), addr) == 1) {
    return inet_ntop(AF_INET6, addr, text, sizeof text) ? text : "";
  }
  return {};
}

std::string commonNameOf(const X509_NAME* name) {
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    ERR_clear_error();
    return {};
  }
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return cn;
}

}  // namespace kgate::certs::detail
