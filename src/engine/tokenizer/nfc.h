// Unicode NFC normalization (Qwen's tokenizer.json normalizer), via utf8proc.
#pragma once

#include <string>
#include <string_view>

namespace cdb {

// `text` must be valid UTF-8.
std::string nfc_normalize(std::string_view text);

}  // namespace cdb
