// Content fingerprints of tokenizer files, so that a Cartridge can record
// exactly which tokenizer produced its ids.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

// Reads a whole file; IoError / NotFound name the path.
std::string read_file_bytes(const std::filesystem::path& path);

// xxh3-128 of each part in order, then of `kind`, as 32 lowercase hex digits.
std::string tokenizer_fingerprint(const std::vector<std::string_view>& parts, std::string_view kind);

}  // namespace cdb
