// Internal to certs/: RAII holders and error text for OpenSSL objects the public headers don't
// expose. Not for use outside this module.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

namespace kgate::certs::detail {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const { Fn(p); }
};

using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using Asn1Integer = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Asn1OctetString = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using Asn1Object = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT_free>>;
using X509Ext = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using X509NameOwned = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
using GeneralNames = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

struct ExtStackFree {
  void operator()(STACK_OF(X509_EXTENSION)* p) const {
    sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
  }
};
using ExtStack = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree>;

// "<what>: <first queued OpenSSL error>", and the queue cleared so the next call starts clean.
std::string opensslError(std::string_view what);

// A read-only memory BIO over text (which must outlive the BIO).
Bio memReader(std::string_view text);
// Everything written to a memory BIO, as a string.
std::string bioContents(BIO* bio);

// Canonical text of an IP literal ("::1", "10.0.0.1"), or "" when s is not an IP literal.
std::string canonicalIp(const std::string& s);

// The first commonName of a name, as UTF-8; "" when there is none or it does not convert.
std::string commonNameOf(const X509_NAME* name);

}  // namespace kgate::certs::detail
