#include <cstdlib>

#include "common/error.h"
#include "storage/s3/s3_options.h"

namespace cdb {

S3Credentials S3Credentials::from_env() {
  const auto var = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  S3Credentials c{var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"), var("AWS_SESSION_TOKEN")};
  if (c.access_key.empty()) throw InvalidArgument("AWS_ACCESS_KEY_ID is not set: S3 blobs need credentials in the environment");
  if (c.secret_key.empty())
    throw InvalidArgument("AWS_SECRET_ACCESS_KEY is not set: S3 blobs need credentials in the environment");
  return c;
}

}  // namespace cdb
