#include "shell/progress_bar.h"

#include <algorithm>
#include <cmath>

namespace cdb::shell {

std::string clock_text(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  char b[32];
  const long t = std::lround(s);
  if (t >= 3600) std::snprintf(b, sizeof b, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(b, sizeof b, "%ld:%02ld", t / 60, t % 60);
  return b;
}

std::string progress_line(const cartridgedb::Progress& p) {
  constexpr size_t kWidth = 30;
  const double fraction = std::clamp(std::isfinite(p.fraction) ? p.fraction : 0.0, 0.0, 1.0);
  const size_t filled = std::min<size_t>(static_cast<size_t>(std::lround(fraction * kWidth)), kWidth);
  char b[256];
  // Appended piece by piece: "[" + std::string(...) trips GCC 12's
  // -Wrestrict false positive at -O3.
  std::string s = "[";
  s.append(filled, '#').append(kWidth - filled, '-') += ']';
  std::snprintf(b, sizeof b, " %3.0f%% job %lld %-12s", 100 * fraction, static_cast<long long>(p.job),
                p.state == "running" ? p.phase.c_str() : p.state.c_str());
  s += b;
  if (p.total_steps > 0) {
    std::snprintf(b, sizeof b, " step %lld/%lld", static_cast<long long>(p.step), static_cast<long long>(p.total_steps));
    s += b;
  }
  if (std::isfinite(p.loss)) {
    std::snprintf(b, sizeof b, " loss %.4f", p.loss);
    s += b;
  }
  if (p.tokens_per_s > 0) {
    std::snprintf(b, sizeof b, " %.0f tok/s ETA %s", p.tokens_per_s, clock_text(p.eta_s).c_str());
    s += b;
  }
  return s;
}

void ProgressBar::update(const cartridgedb::Progress& p) {
  const std::string line = progress_line(p);
  const bool ended = p.state != "running" && p.state != "queued";
  if (redraw_) {
    // Blanks over the tail of a longer previous line.
    const std::size_t w = line.size();
    std::fprintf(out_, "\r%s%s", line.c_str(), std::string(last_width_ > w ? last_width_ - w : 0, ' ').c_str());
    last_width_ = w;
    open_ = !ended;
    if (ended) {
      std::fputc('\n', out_);
      last_width_ = 0;
    }
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (!open_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  open_ = false;
  last_width_ = 0;
}

}  // namespace cdb::shell
