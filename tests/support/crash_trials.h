// The store's failure trials: a writer SIGKILLed at random moments, every
// file of a data directory damaged at random, writes into a full disk.
// Shared by bench/crash_trials (the figures in docs/storage-format.md,
// "Failure model") and the fixed-seed subset tests/storage/
// crash_trials_test.cpp runs in CI.
//
// What is counted, and what each count must be:
//  - lost_records (0): a record the store reported committed that cannot be
//    read back intact after a kill; or, after damage, once the damaged file
//    is put back as a backup would restore it (plus `verify --repair`). A
//    refused open after damage is not a loss: nothing was changed.
//  - open_crashes (0): a process that died of a signal opening, reading,
//    verifying or recovering a store. Every such step runs in a child
//    process, so a crash is counted, not fatal to the trials.
//  - silent_accepts (0): bytes served that differ from what was written.
//  - repaired_share: of the records in directories whose catalog was
//    damaged or deleted, the share `recover` brought back readable and
//    intact, by corpus and name.
#pragma once

#include <sys/mount.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "storage/recover.h"
#include "storage/store.h"
#include "support/cartridge_meta.h"
#include "support/killed_child.h"

namespace cdb::test {

struct TrialOptions {
  uint32_t seed = 1;
  int kills = 200;
  int corruptions = 500;
  int disk_full = 20;
  std::filesystem::path work;  // an empty scratch directory
};

struct TrialCounts {
  int kills = 0, kills_mid_run = 0, corruptions = 0, disk_full = 0;
  int lost_records = 0, open_crashes = 0, silent_accepts = 0;
  int refused_opens = 0, detected_on_read = 0, unharmed = 0;
  int disk_full_clear_messages = 0;
  std::string disk_full_note;
  std::vector<std::string> disk_full_unclear;  // the messages that did not say "no space left"
  size_t recover_expected = 0, recover_rebuilt = 0;
  std::map<std::string, int> by_damage;  // trials per file:kind
  double repaired_share() const {
    return recover_expected ? static_cast<double>(recover_rebuilt) / static_cast<double>(recover_expected) : 1.0;
  }
  nlohmann::json to_json() const {
    return {{"trials", kills + corruptions + disk_full},
            {"kills", kills},
            {"kills_mid_run", kills_mid_run},
            {"corruptions", corruptions},
            {"disk_full", disk_full},
            {"disk_full_clear_messages", disk_full_clear_messages},
            {"disk_full_note", disk_full_note},
            {"disk_full_unclear", disk_full_unclear},
            {"lost_records", lost_records},
            {"open_crashes", open_crashes},
            {"silent_accepts", silent_accepts},
            {"refused_opens", refused_opens},
            {"detected_on_read", detected_on_read},
            {"unharmed", unharmed},
            {"recover_expected", recover_expected},
            {"recover_rebuilt", recover_rebuilt},
            {"repaired_share", repaired_share()},
            {"by_damage", by_damage}};
  }
};

namespace trials {

namespace fs = std::filesystem;

// Runs fn in a forked child; its reports come back, or nullopt when the
// child died of a signal (a crash).
inline std::optional<std::vector<int64_t>> in_child(const std::function<void(const ChildReporter&)>& fn) {
  auto child = KilledChild::fork_running(fn);
  auto reports = child.wait_reports(SIZE_MAX);  // until it exits
  const auto exit = child.kill_and_reap();
  if (!exit.killed && exit.status < 0) return std::nullopt;
  return reports;
}

inline std::string text_for(uint64_t tag, size_t bytes) {
  std::mt19937_64 rng(tag);
  std::string s(bytes, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

inline std::vector<float> tensor_for(uint64_t tag, size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>((tag * 31 + i * 7) % 1000) / 7.f;
  return v;
}

inline CartridgeRow cartridge_meta(int64_t corpus_id, const std::string& model) {
  return test::cartridge_meta(corpus_id, 1, model, "f32", 4);
}

// ---- kills ------------------------------------------------------------------

struct KillOp {
  enum Kind { kPutDoc, kRemoveDoc, kPutCartridge, kPutArtifacts, kReopen } kind;
  int target = -1;  // kRemoveDoc: the op whose document it removes
};

// The writer's plan: op i of trial t, the same in the child and the parent.
inline KillOp kill_op(uint32_t seed, int trial, int i) {
  std::mt19937 rng(seed * 7919u + static_cast<uint32_t>(trial) * 104729u + static_cast<uint32_t>(i));
  const int r = static_cast<int>(rng() % 100);
  if (r < 55) return {KillOp::kPutDoc};
  if (r < 65 && i >= 3) {
    // Removes the document op i-3 put, if it was one.
    std::mt19937 back(seed * 7919u + static_cast<uint32_t>(trial) * 104729u + static_cast<uint32_t>(i - 3));
    if (back() % 100 < 55) return {KillOp::kRemoveDoc, i - 3};
    return {KillOp::kPutDoc};
  }
  if (r < 80) return {KillOp::kPutCartridge};
  if (r < 95) return {KillOp::kPutArtifacts};
  return {KillOp::kReopen};
}

inline std::string kdoc_name(int trial, int i) { return "k" + std::to_string(trial) + "-" + std::to_string(i); }
inline uint64_t ktag(int trial, int i) { return static_cast<uint64_t>(trial) * 100000 + static_cast<uint64_t>(i); }

struct KillState {
  std::map<std::string, std::string> docs;       // committed, not removed
  std::set<std::string> removed;                 // removal committed
  std::map<std::string, uint64_t> cartridges;    // model fingerprint -> tensor tag
  std::map<std::string, int64_t> artifact_step;  // scope -> last committed step
};

inline void kill_writer(const fs::path& dir, uint32_t seed, int trial, const ChildReporter& out) {
  auto s = std::make_unique<Store>(dir);
  const int64_t cid = s->catalog().corpus("c").id;
  for (int i = 0; i < 100000; ++i) {
    const KillOp op = kill_op(seed, trial, i);
    switch (op.kind) {
      case KillOp::kPutDoc:
        s->put_document("c", kdoc_name(trial, i), text_for(ktag(trial, i), 200 + (ktag(trial, i) * 37) % 20000));
        break;
      case KillOp::kRemoveDoc:
        s->remove_document("c", kdoc_name(trial, op.target));
        break;
      case KillOp::kPutCartridge: {
        const auto k = tensor_for(ktag(trial, i), 4096), v = tensor_for(ktag(trial, i) + 1, 4096);
        s->put_cartridge(cartridge_meta(cid, "m" + std::to_string(ktag(trial, i))),
                         {{"k0", {DType::F32, {4, 1024}, k.data()}}, {"v0", {DType::F32, {4, 1024}, v.data()}}});
        break;
      }
      case KillOp::kPutArtifacts: {
        const auto w = tensor_for(ktag(trial, i), 2048);
        s->put_artifacts("job/" + std::to_string(trial % 3) + "/checkpoint", {{"w", {DType::F32, {2048}, w.data()}}},
                         "{\"step\": " + std::to_string(ktag(trial, i)) + "}");
        break;
      }
      case KillOp::kReopen:  // a kill here lands in the open-time checks and GC
        s.reset();
        s = std::make_unique<Store>(dir);
        break;
    }
    out.report(i);
  }
}

inline void apply_committed(KillState& st, uint32_t seed, int trial, int i) {
  const KillOp op = kill_op(seed, trial, i);
  if (op.kind == KillOp::kPutDoc) {
    st.docs[kdoc_name(trial, i)] = text_for(ktag(trial, i), 200 + (ktag(trial, i) * 37) % 20000);
  } else if (op.kind == KillOp::kRemoveDoc) {
    st.docs.erase(kdoc_name(trial, op.target));
    st.removed.insert(kdoc_name(trial, op.target));
  } else if (op.kind == KillOp::kPutCartridge) {
    st.cartridges["m" + std::to_string(ktag(trial, i))] = ktag(trial, i);
  } else if (op.kind == KillOp::kPutArtifacts) {
    st.artifact_step["job/" + std::to_string(trial % 3) + "/checkpoint"] = static_cast<int64_t>(ktag(trial, i));
  }
}

// Reports: lost, silent.
inline void check_after_kill(const fs::path& dir, const KillState& st, uint32_t seed, int trial,
                             const ChildReporter& out) {
  int64_t lost = 0, silent = 0;
  std::optional<Store> s;
  try {
    s.emplace(dir);
  } catch (const Error&) {
    out.report(static_cast<int64_t>(st.docs.size() + st.cartridges.size() + st.artifact_step.size()));
    out.report(0);
    return;
  }
  for (const auto& [name, text] : st.docs) {
    try {
      if (s->read_document("c", name) != text) ++silent;
    } catch (const Error&) {
      ++lost;
    }
  }
  for (const auto& name : st.removed)
    if (s->catalog().find_document(s->catalog().corpus("c").id, name)) ++silent;  // a removal undone
  std::map<std::string, int64_t> by_model;
  for (const auto& c : s->catalog().list_cartridges()) by_model[c.model_fingerprint] = c.id;
  for (const auto& [model, tag] : st.cartridges) {
    auto it = by_model.find(model);
    if (it == by_model.end()) {
      ++lost;
      continue;
    }
    try {
      auto k = s->read_cartridge_tensor(it->second, "k0");
      const auto want = tensor_for(tag, 4096);
      if (std::memcmp(k.data(), want.data(), want.size() * 4) != 0) ++silent;
    } catch (const Error&) {
      ++lost;
    }
  }
  for (const auto& [scope, step] : st.artifact_step) {
    // The last committed put, or a later one that committed as it was killed.
    try {
      auto rows = s->list_artifacts(scope);
      if (rows.empty()) {
        ++lost;
        continue;
      }
      const int64_t got = nlohmann::json::parse(rows[0].meta).at("step").get<int64_t>();
      auto w = s->read_artifact(scope, "w");
      const auto want = tensor_for(static_cast<uint64_t>(got), 2048);
      if (got < step) ++lost;
      else if (std::memcmp(w.data(), want.data(), want.size() * 4) != 0) ++silent;
    } catch (const Error&) {
      ++lost;
    }
  }
  if (!s->verify_all().ok()) ++lost;
  (void)seed;
  (void)trial;
  out.report(lost);
  out.report(silent);
}

inline void run_kills(const TrialOptions& o, TrialCounts& c) {
  const fs::path dir = o.work / "kills";
  { Store(dir).create_corpus("c"); }
  std::mt19937 rng(o.seed);
  KillState st;
  for (int trial = 0; trial < o.kills; ++trial) {
    auto child = KilledChild::fork_running([&](const ChildReporter& out) { kill_writer(dir, o.seed, trial, out); });
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 60000));
    const auto exit = child.kill_and_reap();
    ++c.kills;
    if (exit.killed) ++c.kills_mid_run;
    int next = 0;  // the op in flight when the kill came
    for (int64_t i : child.drain_reports()) {
      apply_committed(st, o.seed, trial, static_cast<int>(i));
      next = static_cast<int>(i) + 1;
    }
    // A removal in flight may or may not have committed: its document is
    // expected neither present nor absent from now on.
    if (const KillOp op = kill_op(o.seed, trial, next); exit.killed && op.kind == KillOp::kRemoveDoc)
      st.docs.erase(kdoc_name(trial, op.target));
    auto r = in_child([&](const ChildReporter& out) { check_after_kill(dir, st, o.seed, trial, out); });
    if (!r || r->size() < 2) {
      ++c.open_crashes;
      continue;
    }
    c.lost_records += static_cast<int>((*r)[0]);
    c.silent_accepts += static_cast<int>((*r)[1]);
  }
}

// ---- damage -----------------------------------------------------------------

constexpr int kTemplateDocs = 8;

// A template document's name, "d<i>". Built by append: GCC 12 at -O3 warns
// (-Wrestrict, a false positive) on "d" + std::to_string(i) inlined here.
inline std::string tdoc_name(int i) { return std::string("d").append(std::to_string(i)); }

inline std::string tdoc_text(int i) { return text_for(900 + static_cast<uint64_t>(i), i == 0 ? 150000 : 500 + i * 3000); }

// A closed store: documents (one of several codec chunks), a Cartridge, an
// artifact scope. `tag` makes two templates' contents differ.
inline void make_template(const fs::path& dir, uint64_t tag) {
  Store s(dir);
  const int64_t cid = s.create_corpus("c").id;
  for (int i = 0; i < kTemplateDocs; ++i)
    s.put_document("c", tdoc_name(i), tag ? text_for(tag * 1000 + i, 4000) : tdoc_text(i));
  const auto k = tensor_for(tag + 5, 4096), v = tensor_for(tag + 6, 4096);
  s.put_cartridge(cartridge_meta(cid, "model"),
                  {{"k0", {DType::F32, {4, 1024}, k.data()}}, {"v0", {DType::F32, {4, 1024}, v.data()}}});
  const auto w = tensor_for(tag + 7, 2048);
  s.put_artifacts("job/1/checkpoint", {{"w", {DType::F32, {2048}, w.data()}}}, "{\"step\": 3}");
}

// Reads everything the template holds; returns {intact, detected, silent}.
inline std::array<int64_t, 3> read_template(Store& s) {
  std::array<int64_t, 3> n{0, 0, 0};
  auto tally = [&](const std::function<bool()>& read) {
    try {
      ++n[read() ? 0 : 2];
    } catch (const Error&) {
      ++n[1];
    }
  };
  for (int i = 0; i < kTemplateDocs; ++i)
    tally([&] { return s.read_document("c", tdoc_name(i)) == tdoc_text(i); });
  tally([&] {
    auto carts = s.catalog().list_cartridges();
    if (carts.size() != 1) throw NotFound("cartridge");
    auto k = s.read_cartridge_tensor(carts[0].id, "k0");
    auto v = s.read_cartridge_tensor(carts[0].id, "v0");
    const auto wk = tensor_for(5, 4096), wv = tensor_for(6, 4096);
    return std::memcmp(k.data(), wk.data(), 4096 * 4) == 0 && std::memcmp(v.data(), wv.data(), 4096 * 4) == 0 &&
           carts[0].model_fingerprint == "model";
  });
  tally([&] {
    auto w = s.read_artifact("job/1/checkpoint", "w");
    const auto want = tensor_for(7, 2048);
    return std::memcmp(w.data(), want.data(), 2048 * 4) == 0;
  });
  return n;
}
constexpr int64_t kTemplateRecords = kTemplateDocs + 2;

inline void copy_dir(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

inline void damage(const fs::path& file, const std::string& kind, const fs::path& other, std::mt19937_64& rng) {
  const size_t size = fs::exists(file) ? fs::file_size(file) : 0;
  if (kind == "delete") {
    fs::remove(file);
  } else if (kind == "swap") {
    fs::copy_file(other, file, fs::copy_options::overwrite_existing);
  } else if (kind == "truncate") {
    fs::resize_file(file, size ? rng() % size : 0);
  } else {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    if (size == 0) return;
    if (kind == "zero") {
      const size_t at = rng() % size, len = std::min<size_t>(size - at, 1 + rng() % 16384);
      const std::string zeros(len, '\0');
      f.seekp(static_cast<std::streamoff>(at));
      f.write(zeros.data(), static_cast<std::streamsize>(len));
    } else {  // "flip": 1..8 random bits
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int b = 0; b < flips; ++b) {
        const size_t at = rng() % size;
        char ch;
        f.seekg(static_cast<std::streamoff>(at));
        f.read(&ch, 1);
        ch = static_cast<char>(ch ^ (1 << (rng() % 8)));
        f.seekp(static_cast<std::streamoff>(at));
        f.write(&ch, 1);
      }
    }
  }
}

inline void run_corruptions(const TrialOptions& o, TrialCounts& c) {
  const fs::path tmpl = o.work / "template", other = o.work / "other";
  make_template(tmpl, 0);
  make_template(other, 77);
  const std::vector<std::string> files = {"catalog.sqlite", "blobs/data.mdb", "blobs/lock.mdb", "LOCK"};
  const std::vector<std::string> kinds = {"truncate", "zero", "flip", "delete", "swap"};
  std::mt19937_64 rng(o.seed * 2654435761u + 1);
  for (int t = 0; t < o.corruptions; ++t) {
    // data.mdb and the catalog hold the data: they get most of the trials.
    const uint64_t pick = rng() % 10;
    const std::string& file = files[pick < 5 ? 1 : pick < 8 ? 0 : pick < 9 ? 2 : 3];
    const std::string& kind = kinds[rng() % kinds.size()];
    ++c.corruptions;
    ++c.by_damage[file + ":" + kind];
    const fs::path dir = o.work / "damaged";
    copy_dir(tmpl, dir);
    damage(dir / file, kind, other / file, rng);
    // 1. Open as a server would, and read everything.
    auto r = in_child([&](const ChildReporter& out) {
      std::optional<Store> s;
      try {
        s.emplace(dir);
      } catch (const Error&) {
        out.report(-1);
        return;
      }
      const auto n = read_template(*s);
      try {
        (void)s->verify_all();
      } catch (const Error&) {
      }
      out.report(n[0]);
      out.report(n[1]);
      out.report(n[2]);
    });
    if (!r || r->empty()) {
      ++c.open_crashes;
    } else if ((*r)[0] == -1) {
      ++c.refused_opens;
    } else if (r->size() == 3) {
      if ((*r)[2] > 0) c.silent_accepts += static_cast<int>((*r)[2]);
      if ((*r)[1] > 0) ++c.detected_on_read;
      if ((*r)[0] == kTemplateRecords) ++c.unharmed;
    }
    // 2. A lost catalog: what recover rebuilds from the (intact) blobs.
    if (file == "catalog.sqlite") {
      const fs::path rdir = o.work / "recovered";
      copy_dir(dir, rdir);
      auto rr = in_child([&](const ChildReporter& out) {
        try {
          if (fs::exists(rdir / "catalog.sqlite")) {
            // Only a catalog the store refuses (or that is gone) needs recovering.
            try {
              Store probe(rdir);
              out.report(-1);
              return;
            } catch (const Error&) {
            }
          }
          recover_catalog(rdir);
          StoreOptions force;
          force.gc.force = true;
          Store s(rdir, force);
          out.report(read_template(s)[0]);
        } catch (const Error&) {
          out.report(0);
        }
      });
      if (!rr || rr->empty()) ++c.open_crashes;
      else if ((*rr)[0] >= 0) {
        c.recover_expected += kTemplateRecords;
        c.recover_rebuilt += static_cast<size_t>((*rr)[0]);
      }
    }
    // 3. Put the damaged file back as a restore from backup would (a
    //    catalog with its WAL), repair, and read everything: nothing that
    //    step 1 did may have destroyed data.
    if (file == "catalog.sqlite")
      for (const char* side : {"catalog.sqlite-wal", "catalog.sqlite-shm"}) fs::remove(dir / side);
    fs::copy_file(tmpl / file, dir / file, fs::copy_options::overwrite_existing);
    auto rb = in_child([&](const ChildReporter& out) {
      try {
        StoreOptions repair;
        repair.accept_missing_blobs = true;
        Store s(dir, repair);
        (void)s.verify_all(/*repair=*/true);
        const auto n = read_template(s);
        out.report(n[0]);
        out.report(n[2]);
      } catch (const Error&) {
        out.report(0);
        out.report(0);
      }
    });
    if (!rb || rb->size() < 2) {
      ++c.open_crashes;
    } else {
      c.lost_records += static_cast<int>(kTemplateRecords - (*rb)[0]);
      c.silent_accepts += static_cast<int>((*rb)[1]);
    }
  }
}

// ---- full disk --------------------------------------------------------------

inline void run_disk_full(const TrialOptions& o, TrialCounts& c) {
  if (o.disk_full <= 0) return;
  const fs::path mnt = o.work / "small-disk";
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=3m") != 0) {
    c.disk_full_note = std::string("skipped: cannot mount a 3 MB tmpfs (") + std::strerror(errno) + "; needs root)";
    return;
  }
  std::mt19937_64 rng(o.seed + 99);
  for (int t = 0; t < o.disk_full; ++t) {
    const fs::path dir = mnt / "st";
    fs::remove_all(dir);
    ++c.disk_full;
    const uint64_t trial_seed = rng();  // drawn here: a child's draws do not come back
    auto r = in_child([&](const ChildReporter& out) {
      std::mt19937_64 rng(trial_seed);
      std::string msg;
      int stored = 0;
      std::vector<std::pair<std::string, std::string>> docs;
      {
        StoreOptions so;
        so.blobs.initial_map_bytes = size_t{64} << 20;
        Store s(dir, so);
        const int64_t cid = s.create_corpus("c").id;
        for (int i = 0; i < 200 && msg.empty(); ++i) {
          try {
            if (rng() % 4 == 0) {
              std::vector<float> big(static_cast<size_t>(20000 + rng() % 100000));
              for (auto& x : big) x = static_cast<float>(rng() % 1000000) / 3.f;
              s.put_cartridge(cartridge_meta(cid, "m" + std::to_string(i)),
                              {{"k0", {DType::F32, {static_cast<int64_t>(big.size())}, big.data()}}});
            } else {
              std::string text(static_cast<size_t>(1000 + rng() % 300000), '\0');
              for (auto& ch : text) ch = static_cast<char>(rng());
              s.put_document("c", tdoc_name(i), text);
              docs.emplace_back(tdoc_name(i), std::move(text));
            }
            ++stored;
          } catch (const Error& e) {
            msg = e.what();
          }
        }
      }
      const bool clear = msg.find("no space left on device") != std::string::npos &&
                         msg.find("needed in") != std::string::npos;
      if (!clear) std::ofstream(o.work / "unclear.txt") << (msg.empty() ? "(no error: everything fit)" : msg);
      int64_t lost = 0;
      try {
        Store s(dir);
        if (!s.verify_all().ok()) ++lost;
        for (const auto& [name, text] : docs) {
          try {
            if (s.read_document("c", name) != text) ++lost;
          } catch (const Error&) {
            ++lost;
          }
        }
      } catch (const Error&) {
        lost += static_cast<int64_t>(docs.size());
      }
      out.report(clear ? 1 : 0);
      out.report(lost);
    });
    if (!r || r->size() < 2) {
      ++c.open_crashes;
      continue;
    }
    c.disk_full_clear_messages += static_cast<int>((*r)[0]);
    if ((*r)[0] == 0) {
      std::ifstream in(o.work / "unclear.txt");
      c.disk_full_unclear.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    c.lost_records += static_cast<int>((*r)[1]);
  }
  fs::remove_all(mnt / "st");
  ::umount2(mnt.c_str(), MNT_DETACH);
}

}  // namespace trials

inline TrialCounts run_trials(const TrialOptions& o) {
  TrialCounts c;
  std::filesystem::create_directories(o.work);
  trials::run_kills(o, c);
  trials::run_corruptions(o, c);
  trials::run_disk_full(o, c);
  return c;
}

}  // namespace cdb::test
