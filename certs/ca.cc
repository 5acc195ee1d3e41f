#include "certs/ca.h"

#include <arpa/inet.h>

#include "certs/cert_builder.h"
#include "certs/ossl_util.h"

namespace kgate::certs {

using detail::opensslError;

namespace {

constexpr long kClockSkewSeconds = 3600;

Result<void> addExt(X509& cert, X509V3_CTX& ctx, int nid, const char* value) {
  detail::X509Ext ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, const_cast<char*>(value)));
  if (!ext) return fail(opensslError(std::string("cannot build ") + OBJ_nid2sn(nid)));
  if (X509_add_ext(&cert, ext.get(), -1) != 1) {
    return fail(opensslError(std::string("cannot add ") + OBJ_nid2sn(nid)));
  }
  return {};
}

// DNS names go into an IA5String: printable ASCII without spaces (wildcards allowed).
bool plausibleDnsName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

Result<void> addSans(X509& cert, const std::vector<std::string>& sans) {
  if (sans.empty()) return {};
  detail::GeneralNames names(sk_GENERAL_NAME_new_null());
  if (!names) return fail(opensslError("cannot allocate subjectAltName"));
  for (const std::string& san : sans) {
    unsigned char addr[16];
    int addrLen = 0;
    if (inet_pton(AF_INET, san.c_str(), addr) == 1) {
      addrLen = 4;
    } else if (inet_pton(AF_INET6, san.c_str(), addr) == 1) {
      addrLen = 16;
    } else if (!plausibleDnsName(san)) {
      return fail("invalid subjectAltName \"" + san + "\": neither an IP address nor a DNS name");
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_STRING* value = addrLen > 0 ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    bool ok = gn != nullptr && value != nullptr &&
              (addrLen > 0 ? ASN1_OCTET_STRING_set(value, addr, addrLen)
                           : ASN1_STRING_set(value, san.data(), static_cast<int>(san.size())));
    if (!ok) {
      GENERAL_NAME_free(gn);
      ASN1_STRING_free(value);
      return fail(opensslError("cannot build subjectAltName"));
    }
    GENERAL_NAME_set0_value(gn, addrLen > 0 ? GEN_IPADD : GEN_DNS, value);
    if (sk_GENERAL_NAME_push(names.get(), gn) <= 0) {
      GENERAL_NAME_free(gn);
      return fail(opensslError("cannot build subjectAltName"));
    }
  }
  if (X509_add1_ext_i2d(&cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return fail(opensslError("cannot add subjectAltName"));
  }
  return {};
}

// Version, serial, validity window and public key: what every certificate here starts with.
Result<Certificate> newCert(const EVP_PKEY& pubKey, uint64_t serial, std::chrono::hours validity) {
  if (validity.count() <= 0 || validity > std::chrono::hours(24 * 366 * 100)) {
    return fail("certificate validity must be positive and at most 100 years");
  }
  Certificate cert(X509_new());
  if (!cert) return fail(opensslError("cannot allocate certificate"));
  long hours = static_cast<long>(validity.count());
  bool ok = X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kClockSkewSeconds) != nullptr &&
            X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(hours / 24),
                             (hours % 24) * 3600, nullptr) != nullptr &&
            X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(&pubKey)) == 1;
  if (!ok) return fail(opensslError("cannot fill certificate"));
  return cert;
}

Result<void> sign(X509& cert, const EVP_PKEY& key) {
  if (X509_sign(&cert, const_cast<EVP_PKEY*>(&key), EVP_sha256()) <= 0) {
    return fail(opensslError("cannot sign certificate"));
  }
  return {};
}

}  // namespace

namespace detail {

uint64_t randomSerial() {
  uint64_t serial = 0;
  // A zero top byte would encode in fewer than 8 bytes, which scanners (testssl.sh) report as
  // too little entropy; drawing again costs nothing (1 in 128).
  while (serial < kMinSerial) {
    serial = 0;
    std::string bytes = randomBytes(sizeof serial);
    for (char c : bytes) serial = (serial << 8) | uint8_t(c);
    serial &= 0x7fffffffffffffffULL;
  }
  return serial;
}

Result<Certificate> signLeaf(const X509& caCert, const EVP_PKEY& caKey, const EVP_PKEY& pubKey,
                             const CertSpec& spec, uint64_t serial) {
  if (spec.commonName.empty()) return fail("certificate common name is empty");
  if (!certMatchesKey(caCert, caKey)) {
    return fail("CA key does not match the CA certificate");
  }
  X509NameOwned subject(X509_NAME_new());
  if (!subject ||
      X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.commonName.data()),
                                 static_cast<int>(spec.commonName.size()), -1, 0) != 1) {
    return fail(opensslError("cannot set certificate subject"));
  }
  auto cert = newCert(pubKey, serial, spec.validity);
  if (!cert) return cert;
  X509* x = cert->get();
  if (X509_set_subject_name(x, subject.get()) != 1 ||
      X509_set_issuer_name(x, X509_get_subject_name(&caCert)) != 1) {
    return fail(opensslError("cannot set certificate names"));
  }
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, const_cast<X509*>(&caCert), x, nullptr, nullptr, 0);
  std::string eku;
  if (spec.serverAuth) eku = "serverAuth";
  if (spec.clientAuth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  Result<void> r = addExt(*x, ctx, NID_basic_constraints, "critical,CA:FALSE");
  if (r) r = addExt(*x, ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  if (r && !eku.empty()) r = addExt(*x, ctx, NID_ext_key_usage, eku.c_str());
  if (r) r = addSans(*x, spec.sans);
  if (r) r = addExt(*x, ctx, NID_subject_key_identifier, "hash");
  // keyid when the CA has one; issuer+serial otherwise (a CA made elsewhere may lack an SKID).
  if (r) r = addExt(*x, ctx, NID_authority_key_identifier, "keyid,issuer");
  if (r) r = sign(*x, caKey);
  if (!r) return fail(r.error());
  return cert;
}

}  // namespace detail

Result<Certificate> createCaCert(const EVP_PKEY& caKey, const std::string& commonName,
                                 std::chrono::hours validity) {
  if (commonName.empty()) return fail("CA common name is empty");
  auto cert = newCert(caKey, detail::randomSerial(), validity);
  if (!cert) return cert;
  X509* x = cert->get();
  X509_NAME* name = X509_get_subject_name(x);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(commonName.data()),
                                 static_cast<int>(commonName.size()), -1, 0) != 1 ||
      X509_set_issuer_name(x, name) != 1) {
    return fail(opensslError("cannot set CA name"));
  }
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  if (X509V3_set_issuer_pkey(&ctx, const_cast<EVP_PKEY*>(&caKey)) != 1) {
    return fail(opensslError("cannot prepare CA extensions"));
  }
  Result<void> r = addExt(*x, ctx, NID_basic_constraints, "critical,CA:TRUE");
  if (r) r = addExt(*x, ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (r) r = addExt(*x, ctx, NID_subject_key_identifier, "hash");
  if (r) r = addExt(*x, ctx, NID_authority_key_identifier, "keyid:always");
  if (r) r = sign(*x, caKey);
  if (!r) return fail(r.error());
  return cert;
}

Result<Certificate> issueCert(const X509& caCert, const EVP_PKEY& caKey,
                              const EVP_PKEY& subjectKey, const CertSpec& spec) {
  return detail::signLeaf(caCert, caKey, subjectKey, spec, detail::randomSerial());
}

bool verifySignedBy(const X509& cert, const X509& caCert) {
  EVP_PKEY* caPub = X509_get0_pubkey(&caCert);
  bool ok = caPub != nullptr &&
            X509_NAME_cmp(X509_get_issuer_name(&cert), X509_get_subject_name(&caCert)) == 0 &&
            X509_verify(const_cast<X509*>(&cert), caPub) == 1 &&
            X509_cmp_current_time(X509_get0_notBefore(&cert)) < 0 &&
            X509_cmp_current_time(X509_get0_notAfter(&cert)) > 0;
  ERR_clear_error();
  return ok;
}

std::vector<std::string> certSubjectAltNames(const X509& cert) {
  std::vector<std::string> out;
  detail::GeneralNames names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  ERR_clear_error();
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    int type = 0;
    auto* value = static_cast<const ASN1_STRING*>(
        GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names.get(), i), &type));
    const auto* data = ASN1_STRING_get0_data(value);
    int len = ASN1_STRING_length(value);
    if (type == GEN_DNS) {
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(data), len));
    } else if (type == GEN_IPADD && (len == 4 || len == 16)) {
      char text[INET6_ADDRSTRLEN];
      if (inet_ntop(len == 4 ? AF_INET : AF_INET6, data, text, sizeof text)) {
        out.push_back(std::string("IP:") + text);
      }
    }
  }
  return out;
}

}  // namespace kgate::certs
