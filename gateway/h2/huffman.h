// HPACK's Huffman code (RFC 7541 section 5.2 and appendix B): string literals in HTTP/2 header
// blocks may be coded with it, and every common client codes most of them so.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kgate::h2::hpack {

// Bytes `in` takes Huffman-coded (the last byte padded with the high bits of EOS).
size_t huffmanLength(std::string_view in);
// Appends `in` Huffman-coded to out.
void huffmanEncode(std::string_view in, std::string& out);
// Appends the decoding of `in` to out. False, with out holding an unspecified prefix, when `in`
// is not a coded string: it contains EOS, or ends in padding longer than 7 bits or that is not
// all ones (RFC 7541 section 5.2 makes both a decoding error).
bool huffmanDecode(std::string_view in, std::string& out);

}  // namespace kgate::h2::hpack
