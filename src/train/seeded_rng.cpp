#include "train/seeded_rng.h"

namespace cdb {
namespace {

uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

SeededRng::SeededRng(uint64_t seed, RngStream stream, uint64_t index) {
  // Hash the coordinates so that neighbouring indices give unrelated streams.
  uint64_t x = seed;
  uint64_t h = splitmix(x);
  x = h ^ (static_cast<uint64_t>(stream) * 0xd1b54a32d192ed03ULL);
  h = splitmix(x);
  x = h ^ (index * 0x8cb92ba72f3d8dd7ULL);
  state_ = splitmix(x);
}

uint64_t SeededRng::next() { return splitmix(state_); }

uint64_t SeededRng::below(uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
}

double SeededRng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

}  // namespace cdb
