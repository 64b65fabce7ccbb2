// The Catalog's owners and grants (sql/004_roles.sql): the rows that the
// planner's Access reads to decide what a session's user may do.
#include "storage/catalog.h"

namespace cdb {

void Catalog::set_corpus_owner(int64_t corpus_id, std::string_view owner) {
  std::lock_guard lock(mu_);
  Statement s(*db_, "UPDATE corpora SET owner = ? WHERE id = ?");
  s.bind_all(owner, corpus_id).run();
}

std::optional<std::string> Catalog::corpus_owner(int64_t corpus_id) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, "SELECT owner FROM corpora WHERE id = ?");
  if (!s.bind_all(corpus_id).step()) return std::nullopt;
  return s.text_or_null(0);
}

void Catalog::grant_usage(int64_t corpus_id, std::string_view grantee) {
  std::lock_guard lock(mu_);
  Statement s(*db_, "INSERT INTO corpus_grants (corpus_id, grantee) VALUES (?, ?) ON CONFLICT DO NOTHING");
  s.bind_all(corpus_id, grantee).run();
  if (db_->changes() > 0) notify({CatalogEvent::Kind::GrantChanged, corpus_id, 0});
}

bool Catalog::revoke_usage(int64_t corpus_id, std::string_view grantee) {
  std::lock_guard lock(mu_);
  Statement q(*db_, "SELECT count(*) FROM corpus_grants WHERE corpus_id = ? AND grantee = ?");
  q.bind_all(corpus_id, grantee).step();
  if (q.int64(0) == 0) return false;
  Statement s(*db_, "DELETE FROM corpus_grants WHERE corpus_id = ? AND grantee = ?");
  s.bind_all(corpus_id, grantee).run();
  notify({CatalogEvent::Kind::GrantChanged, corpus_id, 0});
  return true;
}

namespace {
// The corpora `user` may use: the one condition both queries below share.
constexpr const char* kUsableWhere =
    "(c.owner = ?1 OR EXISTS (SELECT 1 FROM corpus_grants g WHERE g.corpus_id = c.id AND g.grantee IN (?1, ?2)))";
}  // namespace

bool Catalog::may_use_corpus(int64_t corpus_id, std::string_view user) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT 1 FROM corpora c WHERE c.id = ?3 AND ") + kUsableWhere);
  return s.bind_all(user, kPublicGrantee, corpus_id).step();
}

std::vector<int64_t> Catalog::usable_corpora(std::string_view user) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT c.id FROM corpora c WHERE ") + kUsableWhere + " ORDER BY c.id");
  s.bind_all(user, kPublicGrantee);
  std::vector<int64_t> out;
  while (s.step()) out.push_back(s.int64(0));
  return out;
}

int64_t Catalog::owned_corpora(std::string_view user) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, "SELECT count(*) FROM corpora WHERE owner = ?");
  s.bind_all(user).step();
  return s.int64(0);
}

int64_t Catalog::owned_document_bytes(std::string_view user) const {
  std::lock_guard lock(mu_);
  Statement s(*db_,
              "SELECT coalesce(sum(d.bytes), 0) FROM documents d JOIN corpora c ON c.id = d.corpus_id WHERE c.owner = ?");
  s.bind_all(user).step();
  return s.int64(0);
}

int64_t Catalog::owned_active_jobs(std::string_view user) const {
  std::lock_guard lock(mu_);
  Statement s(*db_,
              "SELECT count(*) FROM jobs j JOIN corpora c ON c.id = j.corpus_id "
              "WHERE c.owner = ? AND j.state IN ('queued', 'running')");
  s.bind_all(user).step();
  return s.int64(0);
}

}  // namespace cdb
