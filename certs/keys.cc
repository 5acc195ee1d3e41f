#include "certs/keys.h"

#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>
#include <cstdlib>
#include <ctime>

#include "certs/ossl_util.h"

namespace kgate::certs {

using detail::Bio;
using detail::bioContents;
using detail::MdCtx;
using detail::memReader;
using detail::opensslError;

namespace {

constexpr char kB64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode64(std::string_view bytes, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 |
                 uint8_t(bytes[i + 2]);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (pad) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

// Strict decoder: only the alphabet, padding (when required) only at the end, no whitespace.
Result<std::string> decode64(std::string_view text, const char* alphabet, bool padded) {
  std::array<int8_t, 256> value;
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[uint8_t(alphabet[i])] = int8_t(i);

  size_t dataLen = text.size();
  if (padded) {
    if (text.size() % 4 != 0) return fail("base64: length is not a multiple of 4");
    while (dataLen > 0 && text.size() - dataLen < 2 && text[dataLen - 1] == '=') --dataLen;
  }
  if (dataLen % 4 == 1) return fail("base64: truncated input");

  std::string out;
  out.reserve(dataLen / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < dataLen; ++i) {
    int8_t v = value[uint8_t(text[i])];
    if (v < 0) return fail("base64: invalid character at offset " + std::to_string(i));
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

int noPassword(char*, int, int, void*) { return 0; }  // never prompt on a terminal

// A damaged key can still parse; catch it here rather than as bad signatures at a peer later.
// A sign/verify round costs about a millisecond, EVP_PKEY_pairwise_check ~35 ms for RSA-2048.
bool worksForSigning(EVP_PKEY& key) {
  if (!EVP_PKEY_is_a(&key, "RSA") && !EVP_PKEY_is_a(&key, "EC")) return true;
  static constexpr unsigned char kProbe[] = "kgate key self-test";
  MdCtx sign(EVP_MD_CTX_new()), verify(EVP_MD_CTX_new());
  unsigned char sig[1024];
  size_t len = sizeof sig;
  bool ok = sign && verify &&
            EVP_PKEY_get_size(&key) <= static_cast<int>(sizeof sig) &&
            EVP_DigestSignInit(sign.get(), nullptr, EVP_sha256(), nullptr, &key) == 1 &&
            EVP_DigestSign(sign.get(), sig, &len, kProbe, sizeof kProbe) == 1 &&
            EVP_DigestVerifyInit(verify.get(), nullptr, EVP_sha256(), nullptr, &key) == 1 &&
            EVP_DigestVerify(verify.get(), sig, len, kProbe, sizeof kProbe) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace

std::string base64Encode(std::string_view bytes) { return encode64(bytes, kB64Std, true); }
Result<std::string> base64Decode(std::string_view text) { return decode64(text, kB64Std, true); }
std::string base64UrlEncode(std::string_view bytes) { return encode64(bytes, kB64Url, false); }
Result<std::string> base64UrlDecode(std::string_view text) {
  return decode64(text, kB64Url, false);
}

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  // Without a working CSPRNG nothing secret may be produced; there is no safe fallback.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();
  }
  return out;
}

std::string randomString(size_t n, std::string_view alphabet) {
  std::string out;
  if (alphabet.empty() || alphabet.size() > 256) return out;
  out.reserve(n);
  // Bytes at or above limit would favour the first (256 % size) characters.
  const unsigned limit = 256 - 256 % alphabet.size();
  while (out.size() < n) {
    for (char c : randomBytes(n - out.size() + 8)) {
      unsigned b = uint8_t(c);
      if (b >= limit) continue;
      out += alphabet[b % alphabet.size()];
      if (out.size() == n) break;
    }
  }
  return out;
}

Result<PrivateKey> generateRsaKey(int bits) {
  if (bits < 1024 || bits > 16384) {
    return fail("RSA key size out of range: " + std::to_string(bits));
  }
  PrivateKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  if (!key) return fail(opensslError("RSA key generation failed"));
  return key;
}

std::string privateKeyToPem(const EVP_PKEY& key, bool pkcs1) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  int ok = pkcs1 ? PEM_write_bio_PrivateKey_traditional(bio.get(), &key, nullptr, nullptr, 0,
                                                        nullptr, nullptr)
                 : PEM_write_bio_PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr);
  if (ok != 1) {
    ERR_clear_error();
    return {};
  }
  return bioContents(bio.get());
}

bool isDomainKey(const EVP_PKEY& key) {
  return EVP_PKEY_is_a(&key, "RSA") && EVP_PKEY_get_bits(&key) >= 2048;
}

Result<PrivateKey> privateKeyFromPem(std::string_view pem) {
  Bio bio = memReader(pem);
  if (!bio) return fail("private key PEM too large");
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassword, nullptr));
  if (!key) return fail(opensslError("cannot parse private key PEM"));
  if (!worksForSigning(*key)) {
    return fail("private key PEM is damaged: its signatures don't verify");
  }
  ERR_clear_error();  // decoders tried and rejected along the way leave entries behind
  return key;
}

std::string publicKeyToPem(const EVP_PKEY& key, bool pkcs1) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  int ok = 0;
  if (pkcs1 && EVP_PKEY_is_a(&key, "RSA")) {
    OSSL_ENCODER_CTX* ctx = OSSL_ENCODER_CTX_new_for_pkey(&key, EVP_PKEY_PUBLIC_KEY, "PEM",
                                                          "type-specific", nullptr);
    if (ctx != nullptr && OSSL_ENCODER_CTX_get_num_encoders(ctx) > 0) {
      ok = OSSL_ENCODER_to_bio(ctx, bio.get());
    }
    OSSL_ENCODER_CTX_free(ctx);
  } else {
    // Only RSA has a PKCS#1 public form; everything else is SubjectPublicKeyInfo.
    ok = PEM_write_bio_PUBKEY(bio.get(), &key);
  }
  if (ok != 1) {
    ERR_clear_error();
    return {};
  }
  return bioContents(bio.get());
}

Result<PrivateKey> publicKeyFromPem(std::string_view pem) {
  Bio bio = memReader(pem);
  if (!bio) return fail("public key PEM too large");
  EVP_PKEY* raw = nullptr;
  // The PEM decoder picks SubjectPublicKeyInfo or PKCS#1 ("RSA PUBLIC KEY") by the PEM label.
  OSSL_DECODER_CTX* ctx = OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, nullptr,
                                                        EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
  int ok = ctx != nullptr && OSSL_DECODER_from_bio(ctx, bio.get()) == 1;
  OSSL_DECODER_CTX_free(ctx);
  PrivateKey key(raw);
  if (!ok || !key) return fail(opensslError("cannot parse public key PEM"));
  ERR_clear_error();
  return key;
}

bool samePublicKey(const EVP_PKEY& a, const EVP_PKEY& b) {
  bool same = EVP_PKEY_eq(&a, &b) == 1;
  ERR_clear_error();
  return same;
}

bool certMatchesKey(const X509& cert, const EVP_PKEY& key) {
  const EVP_PKEY* pub = X509_get0_pubkey(&cert);
  ERR_clear_error();
  return pub != nullptr && samePublicKey(*pub, key);
}

std::string certToPem(const X509& cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), &cert) != 1) {
    ERR_clear_error();
    return {};
  }
  return bioContents(bio.get());
}

Result<Certificate> certFromPem(std::string_view pem) {
  Bio bio = memReader(pem);
  if (!bio) return fail("certificate PEM too large");
  Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr));
  if (!cert) return fail(opensslError("cannot parse certificate PEM"));
  return cert;
}

Result<std::vector<Certificate>> certChainFromPem(std::string_view pem) {
  Bio bio = memReader(pem);
  if (!bio) return fail("certificate PEM too large");
  std::vector<Certificate> chain;
  for (;;) {
    Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, noPassword, nullptr));
    if (!cert) break;
    chain.push_back(std::move(cert));
  }
  unsigned long err = ERR_peek_last_error();
  bool cleanEnd = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (chain.empty() || !cleanEnd) {
    return fail(opensslError("cannot parse certificate chain PEM (certificate " +
                             std::to_string(chain.size() + 1) + ")"));
  }
  ERR_clear_error();
  return chain;
}

Sha256 sha256Digest(std::string_view bytes) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local MdCtx ctx(EVP_MD_CTX_new());
  Sha256 out;
  if (!md || !ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), nullptr) != 1) {
    std::abort();  // SHA-256 is built in; failure means a broken library
  }
  return out;
}

std::string sha256(std::string_view bytes) {
  Sha256 d = sha256Digest(bytes);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

std::string sha256Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : sha256(bytes)) {
    out += kHex[uint8_t(c) >> 4];
    out += kHex[uint8_t(c) & 15];
  }
  return out;
}

std::string certFingerprint(const X509& cert) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(&cert, EVP_sha256(), md, &len) != 1) {
    ERR_clear_error();
    return {};
  }
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    if (i > 0) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string certSubjectCN(const X509& cert) {
  return detail::commonNameOf(X509_get_subject_name(&cert));
}

std::chrono::system_clock::time_point certNotAfter(const X509& cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(&cert), &tm) != 1) {
    ERR_clear_error();
    return {};
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace kgate::certs
