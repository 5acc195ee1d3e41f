#include "certs/csr.h"

#include <openssl/pem.h>

#include "certs/cert_builder.h"
#include "certs/ossl_util.h"

namespace kgate::certs {

using detail::opensslError;

namespace {

// The requested extensions as a stack the caller owns (null when there are none).
detail::ExtStack requestedExtensions(const X509_REQ& csr) {
  detail::ExtStack exts(X509_REQ_get_extensions(const_cast<X509_REQ*>(&csr)));
  ERR_clear_error();
  return exts;
}

}  // namespace

Result<CertRequest> buildCsr(const EVP_PKEY& key, const std::string& commonName,
                             const std::string& deployToken) {
  if (commonName.empty()) return fail("CSR common name is empty");
  CertRequest req(X509_REQ_new());
  if (!req) return fail(opensslError("cannot allocate CSR"));
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  bool ok = X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(commonName.data()),
                                       static_cast<int>(commonName.size()), -1, 0) == 1 &&
            X509_REQ_set_pubkey(req.get(), const_cast<EVP_PKEY*>(&key)) == 1;
  if (!ok) return fail(opensslError("cannot fill CSR"));

  if (!deployToken.empty()) {
    // OBJ_txt2obj(..., 1): numeric form only, so the OID never resolves to a registered name.
    detail::Asn1Object oid(OBJ_txt2obj(kDeployTokenOid, 1));
    detail::Asn1OctetString value(ASN1_OCTET_STRING_new());
    if (!oid || !value ||
        ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(
                                               deployToken.data()),
                              static_cast<int>(deployToken.size())) != 1) {
      return fail(opensslError("cannot build deploy token extension"));
    }
    detail::X509Ext ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
    detail::ExtStack exts(sk_X509_EXTENSION_new_null());
    if (!ext || !exts || sk_X509_EXTENSION_push(exts.get(), ext.get()) <= 0) {
      return fail(opensslError("cannot build deploy token extension"));
    }
    ext.release();  // now owned by exts
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
      return fail(opensslError("cannot add CSR extensions"));
    }
  }
  if (X509_REQ_sign(req.get(), const_cast<EVP_PKEY*>(&key), EVP_sha256()) <= 0) {
    return fail(opensslError("cannot sign CSR"));
  }
  return req;
}

std::string csrToPem(const X509_REQ& csr) {
  detail::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), &csr) != 1) {
    ERR_clear_error();
    return {};
  }
  return detail::bioContents(bio.get());
}

Result<CertRequest> csrFromPem(std::string_view pem) {
  detail::Bio bio = detail::memReader(pem);
  if (!bio) return fail("CSR PEM too large");
  CertRequest req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return fail(opensslError("cannot parse CSR PEM"));
  return req;
}

bool verifyCsrSignature(X509_REQ& csr) {
  EVP_PKEY* key = X509_REQ_get0_pubkey(&csr);
  bool ok = key != nullptr && X509_REQ_verify(&csr, key) == 1;
  ERR_clear_error();
  return ok;
}

std::string csrCommonName(const X509_REQ& csr) {
  return detail::commonNameOf(X509_REQ_get_subject_name(&csr));
}

int csrCommonNameCount(const X509_REQ& csr) {
  const X509_NAME* name = X509_REQ_get_subject_name(&csr);
  int count = 0;
  for (int at = -1; name && (at = X509_NAME_get_index_by_NID(name, NID_commonName, at)) >= 0;)
    ++count;
  return count;
}

std::optional<std::string> csrExtensionValue(const X509_REQ& csr, const char* oid) {
  detail::Asn1Object want(OBJ_txt2obj(oid, 1));
  detail::ExtStack exts = requestedExtensions(csr);
  if (!want || !exts) {
    ERR_clear_error();
    return std::nullopt;
  }
  for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_cmp(X509_EXTENSION_get_object(ext), want.get()) != 0) continue;
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                       static_cast<size_t>(ASN1_STRING_length(data)));
  }
  return std::nullopt;
}

Result<PrivateKey> csrPublicKey(const X509_REQ& csr) {
  PrivateKey key(X509_REQ_get_pubkey(const_cast<X509_REQ*>(&csr)));
  if (!key) return fail(opensslError("CSR has no usable public key"));
  return key;
}

Result<Certificate> signCsr(const X509& caCert, const EVP_PKEY& caKey, X509_REQ& csr,
                            const CertSpec& spec, uint64_t serial) {
  if (serial == 0) return fail("certificate serial must be non-zero");
  if (!verifyCsrSignature(csr)) return fail("CSR signature does not verify");
  auto key = csrPublicKey(csr);
  if (!key) return fail(key.error());
  // The authority names the certificate (signLeaf: CN=spec.commonName alone): a CSR's subject
  // could carry a second CN, which OpenSSL's host check (no SAN) would accept as well.
  CertSpec leaf = spec;
  leaf.serverAuth = true;
  leaf.clientAuth = true;
  return detail::signLeaf(caCert, caKey, **key, leaf, serial);
}

}  // namespace kgate::certs
