// The wire protocol's one table of SQLSTATEs: every kind of public error
// has a code of its own class, so that none reaches a client as an internal
// error (XX000), and a failed training job has its own.
#include <gtest/gtest.h>

#include "cartridgedb/cartridgedb.h"
#include "server/sqlstate.h"

namespace cdb::server {
namespace {

// The SQLSTATE a client sees for `error` thrown while a statement runs.
template <typename E>
std::string sqlstate_of(const E& error) {
  try {
    throw error;
  } catch (...) {
    return describe_current_exception().code;
  }
}

TEST(Sqlstate, EveryErrorKindButInternalHasACodeOtherThanXX000) {
  // Internal is the last kind: the loop covers one added before it.
  for (int k = 0; k < static_cast<int>(cartridgedb::ErrorKind::Internal); ++k) {
    const auto kind = static_cast<cartridgedb::ErrorKind>(k);
    EXPECT_NE(sqlstate_of(cartridgedb::Error(kind, "x")), sqlstate::kInternalError) << "ErrorKind " << k;
  }
  EXPECT_EQ(sqlstate_of(cartridgedb::Error(cartridgedb::ErrorKind::Internal, "x")), sqlstate::kInternalError);
}

TEST(Sqlstate, AFailedJobIsAnExternalRoutineExceptionNotAnInternalError) {
  EXPECT_EQ(sqlstate_of(cartridgedb::JobFailed("job 3 failed: corpus 'c' tokenizes to nothing")), "38000");
}

}  // namespace
}  // namespace cdb::server
