// Typed option accessors: defaults, type errors pointing at the value,
// unknown-option checks pointing at the key, and caller-side checks.
#include <gtest/gtest.h>

#include <string>

#include "language/parse_error.h"
#include "language/parser.h"

using namespace cdb::lang;

namespace {

Options train_options(std::string_view with) {
  return std::get<TrainCartridge>(parse_statement("TRAIN CARTRIDGE FOR d WITH " + std::string(with))).options;
}

}  // namespace

TEST(Options, TypedAccessorsAndDefaults) {
  const Options o = train_options("(steps = 10, lr = 1, mode = 'icl', wait_all = false, temp = 0.5)");
  EXPECT_EQ(o.get_int("steps", 1), 10);
  EXPECT_EQ(o.get_int("absent", 77), 77);
  EXPECT_DOUBLE_EQ(o.get_double("lr", 0), 1.0);  // an integer is a fine float
  EXPECT_DOUBLE_EQ(o.get_double("temp", 0), 0.5);
  EXPECT_DOUBLE_EQ(o.get_double("absent", 0.25), 0.25);
  EXPECT_EQ(o.get_string("mode", "auto"), "icl");
  EXPECT_EQ(o.get_string("absent", "auto"), "auto");
  EXPECT_FALSE(o.get_bool("wait_all", true));
  EXPECT_TRUE(o.get_bool("absent", true));
  EXPECT_TRUE(o.has("STEPS"));  // keys are case-insensitive
  EXPECT_FALSE(o.has("step"));
}

TEST(Options, WrongTypeFailsAtTheValue) {
  // TRAIN CARTRIDGE FOR d WITH (steps = 'many', lr = 'x', n = 2.0, b = 1)
  // 1234567890123456789012345678901234567890123456789012345678901234567
  const Options o = train_options("(steps = 'many', lr = 'x', n = 2.0, b = 1)");
  const auto error = [&](auto&& f) -> cdb::ParseError {
    try {
      f();
    } catch (const cdb::ParseError& e) {
      return e;
    }
    ADD_FAILURE() << "no error";
    return cdb::ParseError({}, "none");
  };
  auto e = error([&] { o.get_int("steps", 0); });
  EXPECT_STREQ(e.what(), "invalid option at 1:37: option 'steps' must be an integer, found string 'many'");
  EXPECT_EQ(e.offset(), 36u);
  EXPECT_EQ(e.cause(), cdb::ParseErrorKind::Option);  // what a server maps to 22023, not the text
  e = error([&] { o.get_double("lr", 0); });
  EXPECT_EQ(e.detail(), "option 'lr' must be a number, found string 'x'");
  EXPECT_EQ(e.column(), 50u);
  e = error([&] { o.get_int("n", 0); });
  EXPECT_EQ(e.detail(), "option 'n' must be an integer, found float 2.0");
  e = error([&] { o.get_bool("b", false); });
  EXPECT_EQ(e.detail(), "option 'b' must be true or false, found integer 1");
  e = error([&] { o.get_string("b", ""); });
  EXPECT_EQ(e.detail(), "option 'b' must be a string, found integer 1");
  EXPECT_EQ(e.column(), 68u);
}

TEST(Options, RejectUnknownPointsAtTheKey) {
  const Options o = train_options("(steps = 1, stpes = 2)");
  EXPECT_NO_THROW(o.reject_unknown({"steps", "stpes"}, "TRAIN CARTRIDGE"));
  try {
    o.reject_unknown({"steps", "lr"}, "TRAIN CARTRIDGE");
    FAIL();
  } catch (const cdb::ParseError& e) {
    EXPECT_STREQ(e.what(),
                 "invalid option at 1:40: unknown option 'stpes' for TRAIN CARTRIDGE (expected one of: steps, lr)");
    EXPECT_EQ(e.cause(), cdb::ParseErrorKind::Option);
  }
  try {
    o.reject_unknown({}, "SHOW JOBS");
    FAIL();
  } catch (const cdb::ParseError& e) {
    EXPECT_EQ(e.detail(), "unknown option 'steps' for SHOW JOBS (it takes no options)");
  }
}

TEST(Options, CallerChecksUseFail) {
  const auto ask = std::get<Ask>(parse_statement("ASK 'q' USING a WITH (mode = 'fast')"));
  const Option* mode = ask.options.find("mode");
  ASSERT_NE(mode, nullptr);
  try {
    Options::fail(*mode, "mode must be 'auto', 'cartridge' or 'icl'");
  } catch (const cdb::ParseError& e) {
    EXPECT_STREQ(e.what(), "invalid option at 1:30: mode must be 'auto', 'cartridge' or 'icl'");
  }
}

TEST(Options, AddRejectsDuplicates) {
  Options o;
  o.add(Option{"a", std::int64_t{1}, {0, 1, 5}, {4, 1, 9}});
  EXPECT_THROW(o.add(Option{"A", std::int64_t{2}, {10, 2, 1}, {14, 2, 5}}), cdb::ParseError);
  EXPECT_EQ(o.size(), 1u);
}
