#include "shell/completer.h"

#include <gtest/gtest.h>

#include "shell/progress_bar.h"

namespace cdb::shell {
namespace {

using V = std::vector<std::string>;

TEST(ShellCompleter, KeywordsInTheCaseTyped) {
  EXPECT_EQ(complete("", "SHO", {}), V{"SHOW"});
  EXPECT_EQ(complete("", "sho", {}), V{"show"});
  EXPECT_EQ(complete("SHOW ", "CORPO", {}), V{"CORPORA"});
}

TEST(ShellCompleter, OnlyCorporaWhereACorpusGoes) {
  const V corpora = {"farm", "farmyard", "sea"};
  EXPECT_EQ(complete("ASK 'q' USING ", "fa", corpora), (V{"farm", "farmyard"}));
  EXPECT_EQ(complete("ASK 'q' USING farm, ", "s", corpora), V{"sea"});
  EXPECT_EQ(complete("TRAIN CARTRIDGE FOR ", "", corpora), corpora);
  // Elsewhere both: the corpus and the keyword FALSE.
  EXPECT_EQ(complete("SET x = ", "fa", corpora), (V{"false", "farm", "farmyard"}));
}

TEST(ShellCompleter, MetaCommands) {
  EXPECT_EQ(complete("", "\\ti", {}), V{"\\timing"});
  EXPECT_EQ(complete("", "\\", {}).size(), meta_command_names().size());
}

TEST(ShellProgress, LineShowsStepLossSpeedAndEta) {
  cartridgedb::Progress p;
  p.job = 3;
  p.state = "running";
  p.phase = "training";
  p.fraction = 0.5;
  p.step = 20;
  p.total_steps = 40;
  p.loss = 1.23456;
  p.tokens_per_s = 812.4;
  p.eta_s = 75;
  EXPECT_EQ(progress_line(p), "[###############---------------]  50% job 3 training     step 20/40 loss 1.2346 812 tok/s ETA 1:15");
  EXPECT_EQ(clock_text(-1), "--:--");
  EXPECT_EQ(clock_text(10929), "3:02:09");
}

}  // namespace
}  // namespace cdb::shell
