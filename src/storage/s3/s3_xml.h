// The few XML answers of the S3 API we read (ListObjectsV2, errors,
// CreateMultipartUpload), by a deliberately small reader: it finds elements
// by name in text already bounded in size (S3Options::max_*_bytes) and
// decodes the five predefined entities and numeric character references.
// It is no general XML parser (no namespaces prefixes, CDATA, comments),
// and need not be: S3 writes none of those in these answers. Any byte
// string is safe input: a malformed document yields missing elements,
// never a crash or an out-of-bounds read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

// The raw (still escaped) contents of every <tag>...</tag> in `xml`, in
// order; an element left open at the end is dropped. Elements of the same
// name nested inside each other are not supported (S3 never nests them).
std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag);
// The decoded text of the first <tag>, or nullopt.
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag);
// Decodes &amp; &lt; &gt; &quot; &apos; and &#N; / &#xH; (as UTF-8); an
// unknown or malformed reference is kept as written.
std::string xml_unescape(std::string_view text);
// Escapes & < > " ' for element text.
std::string xml_escape(std::string_view text);

}  // namespace cdb
