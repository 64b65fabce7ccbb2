// GPT-2's byte-level alphabet: every byte is written as one printable
// Unicode character so that byte-level BPE vocabularies are valid text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cdb {

// The UTF-8 encoding of the character standing for `byte`.
std::string byte_level_char(unsigned char byte);

// Maps a vocab entry written in the byte-level alphabet back to raw bytes;
// nullopt when it contains a character outside the alphabet.
std::optional<std::string> byte_level_decode(std::string_view token);

}  // namespace cdb
