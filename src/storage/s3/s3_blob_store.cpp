#include "storage/s3/s3_blob_store.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace cdb {

namespace {

S3Options with_bucket(S3Options o, const S3Location& loc) {
  o.bucket = loc.bucket;
  return o;
}

}  // namespace

S3BlobStore::S3BlobStore(S3Location location, S3Options options)
    : location_(std::move(location)), client_(with_bucket(std::move(options), location_)) {}

std::string S3BlobStore::describe(std::string_view key) const {
  return client_.describe(location_.key("blobs/" + std::string(key)));
}

void S3BlobStore::put(std::string_view key, std::string_view blob, std::string_view record) {
  client_.put(location_.key("blobs/" + std::string(key)), blob);
  if (!record.empty()) client_.put(location_.key("records/" + std::string(key)), record);
}

std::string S3BlobStore::get(std::string_view key, std::optional<size_t> size) {
  const std::string k = location_.key("blobs/" + std::string(key));
  if (!size) return client_.get(k);
  std::string out(*size, '\0');
  client_.get_parallel_into(k, out.data(), out.size());
  return out;
}

std::optional<std::string> S3BlobStore::get_if_present(std::string_view key) {
  try {
    return get(key);
  } catch (const NotFound&) {
    return std::nullopt;
  }
}

bool S3BlobStore::contains(std::string_view key) {
  return client_.head(location_.key("blobs/" + std::string(key))).has_value();
}

void S3BlobStore::erase(std::string_view key) {
  client_.remove(location_.key("blobs/" + std::string(key)));
  client_.remove(location_.key("records/" + std::string(key)));
}

std::vector<std::string> S3BlobStore::keys(size_t limit) {
  const std::string prefix = location_.key("blobs/");
  std::vector<std::string> out;
  client_.list(prefix, [&](const S3Object& o) { out.push_back(o.key.substr(prefix.size())); }, limit);
  return out;
}

namespace {

bool list_under(S3Client& client, const std::string& prefix, const std::function<void(const S3BlobStore::Listed&)>& fn,
                size_t limit) {
  size_t seen = 0;
  bool more = false;
  // One entry past the limit is asked for, to tell whether the listing goes on.
  client.list(
      prefix,
      [&](const S3Object& o) {
        if (limit > 0 && ++seen > limit) {
          more = true;
          return;
        }
        if (o.key.size() <= prefix.size() || o.key.compare(0, prefix.size(), prefix) != 0) return;
        fn(S3BlobStore::Listed{o.key.substr(prefix.size()), o.size, o.last_modified});
      },
      limit > 0 ? limit + 1 : 0);
  return more;
}

}  // namespace

bool S3BlobStore::for_each_blob(const std::function<void(const Listed&)>& fn, size_t limit) {
  return list_under(client_, location_.key("blobs/"), fn, limit);
}

bool S3BlobStore::for_each_quarantined(const std::function<void(const Listed&)>& fn, size_t limit) {
  return list_under(client_, location_.key("quarantine/"), fn, limit);
}

std::vector<std::string> S3BlobStore::quarantine(const std::vector<std::string>& keys) {
  std::vector<std::string> moved;
  for (const auto& k : keys) {
    try {
      client_.copy(location_.key("blobs/" + k), location_.key("quarantine/" + k));
    } catch (const NotFound&) {
      continue;  // moved or erased by another process meanwhile
    }
    client_.remove(location_.key("blobs/" + k));
    moved.push_back(k);
  }
  return moved;
}

void S3BlobStore::purge(std::string_view key) {
  client_.remove(location_.key("quarantine/" + std::string(key)));
  client_.remove(location_.key("records/" + std::string(key)));
}

std::vector<std::pair<std::string, int64_t>> S3BlobStore::quarantined() {
  const std::string prefix = location_.key("quarantine/");
  std::vector<std::pair<std::string, int64_t>> out;
  client_.list(prefix, [&](const S3Object& o) { out.emplace_back(o.key.substr(prefix.size()), o.last_modified); });
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return out;
}

std::vector<std::string> S3BlobStore::restore(const std::vector<std::string>& keys) {
  std::vector<std::string> back;
  for (const auto& k : keys) {
    try {
      client_.copy(location_.key("quarantine/" + k), location_.key("blobs/" + k));
    } catch (const NotFound&) {
      continue;
    }
    client_.remove(location_.key("quarantine/" + k));
    back.push_back(k);
  }
  return back;
}

std::optional<StoreIdentity> S3BlobStore::read_identity() {
  const std::string key = location_.key("cdb.identity");
  std::string text;
  try {
    text = client_.get(key);
  } catch (const NotFound& e) {
    if (std::string_view(e.what()).find("NoSuchBucket") != std::string_view::npos) throw;
    return std::nullopt;
  }
  try {
    auto j = nlohmann::json::parse(text);
    return StoreIdentity{j.at("store_id").get<std::string>(), j.at("format_version").get<int>()};
  } catch (const std::exception& e) {
    throw CorruptData("the store identity " + client_.describe(key) + " is unreadable (" + e.what() +
                      "); restore it from the bucket's versions");
  }
}

void S3BlobStore::write_identity(const StoreIdentity& id) {
  client_.put(location_.key("cdb.identity"),
              nlohmann::json{{"store_id", id.store_id}, {"format_version", id.format_version}}.dump());
}

}  // namespace cdb
