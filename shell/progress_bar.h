// Training progress on a terminal: one line redrawn in place
//   [#########---------------------]  30% job 3 training     step 12/40 loss 1.2345 812 tok/s ETA 0:12
// or, when the stream is not a terminal (a log, a pipe), one line per report.
#pragma once

#include <cstdio>
#include <string>

#include "cartridgedb/cartridgedb.h"

namespace cdb::shell {

// The text of one report, without the leading '\r' or the newline.
std::string progress_line(const cartridgedb::Progress& progress);

// "m:ss" (or "h:mm:ss"), or "--:--" for an unknown (negative or infinite) time.
std::string clock_text(double seconds);

class ProgressBar {
 public:
  // `out` must outlive the bar; `redraw`: overwrite the line with '\r'.
  ProgressBar(std::FILE* out, bool redraw) : out_(out), redraw_(redraw) {}
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(const cartridgedb::Progress& progress);
  // Ends a bar left open (a cancelled or failed wait) so that what is
  // printed next starts on a fresh line.
  void finish();

 private:
  std::FILE* out_;
  bool redraw_;
  bool open_ = false;  // a redrawn line is on screen without its newline
  std::size_t last_width_ = 0;
};

}  // namespace cdb::shell
