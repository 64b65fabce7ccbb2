#include "storage/lmdb_file_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.h"

namespace cdb {

namespace {

constexpr uint32_t kLmdbMagic = 0xBEEFC0DE;
constexpr uint32_t kLmdbDataVersion = 1;
constexpr uint16_t kLmdbPageMeta = 0x08;  // P_META
constexpr size_t kLmdbPageHeader = 16;
// Offsets inside MDB_meta (after the page header).
constexpr size_t kMagicAt = 0, kVersionAt = 4, kPageSizeAt = 24, kMainEntriesAt = 24 + 48 + 32,
                 kLastPageAt = 120, kTxnAt = 128, kLmdbMetaBytes = 136;

template <typename T>
T meta_load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct LmdbMeta {
  bool valid = false;
  std::string why;
  uint32_t page_bytes = 0;
  uint64_t last_page = 0, txnid = 0, entries = 0;
};

LmdbMeta parse_meta(const unsigned char* page) {
  LmdbMeta m;
  const uint16_t flags = meta_load<uint16_t>(page + 10);
  const unsigned char* meta = page + kLmdbPageHeader;
  if (!(flags & kLmdbPageMeta)) m.why = "not a meta page";
  else if (meta_load<uint32_t>(meta + kMagicAt) != kLmdbMagic) m.why = "bad magic number";
  else if (meta_load<uint32_t>(meta + kVersionAt) != kLmdbDataVersion)
    m.why = "data format version " + std::to_string(meta_load<uint32_t>(meta + kVersionAt)) + ", expected 1";
  else {
    m.page_bytes = meta_load<uint32_t>(meta + kPageSizeAt);
    if (m.page_bytes < 512 || m.page_bytes > 65536 || (m.page_bytes & (m.page_bytes - 1)))
      m.why = "impossible page size " + std::to_string(m.page_bytes);
    else {
      m.valid = true;
      m.last_page = meta_load<uint64_t>(meta + kLastPageAt);
      m.txnid = meta_load<uint64_t>(meta + kTxnAt);
      m.entries = meta_load<uint64_t>(meta + kMainEntriesAt);
    }
  }
  return m;
}

}  // namespace

LmdbFileState check_lmdb_file(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "data.mdb";
  LmdbFileState st;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return st;
    throw IoError("cannot open " + file.string() + ": " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) throw IoError("cannot size " + file.string() + ": " + std::strerror(errno));
  st.file_bytes = static_cast<size_t>(size);
  if (size == 0) return st;
  st.present = true;
  const std::string restore =
      "; the file is damaged (cut short or overwritten): restore the store's blobs/ directory from a backup "
      "(cartridge store backup); nothing was changed";
  auto read_page = [&](off_t at, unsigned char* buf) {
    return ::pread(fd, buf, kLmdbPageHeader + kLmdbMetaBytes, at) == static_cast<ssize_t>(kLmdbPageHeader + kLmdbMetaBytes);
  };
  unsigned char p0[kLmdbPageHeader + kLmdbMetaBytes], p1[kLmdbPageHeader + kLmdbMetaBytes];
  if (!read_page(0, p0))
    throw CorruptData(file.string() + " is " + std::to_string(size) + " bytes, too short for an LMDB meta page" +
                      restore);
  const LmdbMeta m0 = parse_meta(p0);
  if (!m0.valid) throw CorruptData(file.string() + ": first LMDB meta page is invalid (" + m0.why + ")" + restore);
  if (static_cast<size_t>(size) < 2 * size_t{m0.page_bytes} || !read_page(m0.page_bytes, p1))
    throw CorruptData(file.string() + " is " + std::to_string(size) + " bytes, shorter than LMDB's two meta pages (" +
                      std::to_string(2 * m0.page_bytes) + " bytes)" + restore);
  const LmdbMeta m1 = parse_meta(p1);
  if (!m1.valid) throw CorruptData(file.string() + ": second LMDB meta page is invalid (" + m1.why + ")" + restore);
  if (m1.page_bytes != m0.page_bytes)
    throw CorruptData(file.string() + ": the two LMDB meta pages disagree on the page size" + restore);
  const LmdbMeta& m = m1.txnid > m0.txnid ? m1 : m0;
  st.page_bytes = m.page_bytes;
  st.last_page = m.last_page;
  st.txnid = m.txnid;
  st.main_entries = m.entries;
  if (st.needed_bytes() > st.file_bytes)
    throw CorruptData(file.string() + " is " + std::to_string(st.file_bytes) + " bytes, but its LMDB meta page (txn " +
                      std::to_string(m.txnid) + ") uses " + std::to_string(m.last_page + 1) + " pages of " +
                      std::to_string(m.page_bytes) + " bytes (" + std::to_string(st.needed_bytes()) +
                      " bytes)" + restore);
  return st;
}

}  // namespace cdb
