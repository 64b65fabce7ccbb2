// Questions from several threads join one continuous batch (the Scheduler)
// and get the answers they would get alone; a question whose caller
// cancels it stops with Cancelled and frees its slot.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/error.h"
#include "planner_fixture.h"
#include "scheduler/scheduler.h"

namespace cdb::test {
namespace {

class ConcurrentAsk : public ::testing::Test {
 protected:
  TempDir tmp;
  Session s{tmp.path() / "db", stories_options(false)};

  void SetUp() override {
    s.script(pip_and_lola_script() + "SET max_tokens = 60;");
    s.store_cartridge("pip", 12);
    s.store_cartridge("lola", 12);
  }
};

TEST_F(ConcurrentAsk, QuestionsJoinOneBatchAndAnswerAsAlone) {
  const std::vector<std::string> asks = {"ASK 'Pip was a' USING pip", "ASK 'Lola sang' USING lola",
                                         "ASK 'Pip and Lola' USING lola, pip", "ASK 'Pip liked' USING pip"};
  std::vector<std::string> alone;
  for (const auto& a : asks) alone.push_back(s.run(a).text);
  // Each question streams slowly (a few ms a token), so they overlap.
  std::vector<std::string> together(asks.size());
  std::vector<std::thread> threads;
  std::atomic<int> started{0};
  for (size_t i = 0; i < asks.size(); ++i)
    threads.emplace_back([&, i] {
      Executor exec(*s.db);
      exec.execute_script("SET max_tokens = 60");
      ExecCallbacks cb;
      bool first = true;
      cb.on_token = [&](std::string_view) {
        if (first) started++, first = false;
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
      };
      together[i] = exec.execute(lang::parse_statement(asks[i]), cb).text;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(together, alone);
  EXPECT_GE(s.db->scheduler().stats().largest_batch, 2);
}

TEST_F(ConcurrentAsk, CancelStopsTheQuestion) {
  std::atomic<int> tokens{0};
  ExecCallbacks cb;
  cb.on_token = [&](std::string_view) {
    tokens++;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  cb.is_cancelled = [&] { return tokens.load() >= 3; };
  EXPECT_THROW(s.run("ASK 'Pip was a' USING pip WITH (max_tokens = 200)", cb), Cancelled);
  EXPECT_LT(tokens.load(), 200);
  // The slot is free again: the next question runs.
  EXPECT_FALSE(s.run("ASK 'Lola sang' USING lola").text.empty());
}

}  // namespace
}  // namespace cdb::test
