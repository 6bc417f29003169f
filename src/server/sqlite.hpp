// A thin RAII layer over the SQLite C API: a connection, prepared statements
// and transactions. Only src/server uses SQLite, so no SQLite type leaves it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace ecr::server::sql {

// How a connection's commits reach the disk (PRAGMA synchronous in WAL mode).
enum class Sync {
  // A commit that returned is on disk: it survives kill -9 and power loss.
  kFull,
  // A commit is written to the WAL but not synced: it survives the process
  // being killed (the kernel holds it), not an OS crash or power loss, until
  // the next kFull commit of any connection or a checkpoint syncs the WAL.
  kNormal,
};

// One connection, in WAL mode. Throws api::ServerException on any SQLite
// failure (the client sees a 500, as for any storage fault in ECR).
class Database {
 public:
  explicit Database(const std::string& path, Sync sync = Sync::kFull);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that take no parameters and return no rows.
  void exec(std::string_view sql);
  std::int64_t changes() const;
  std::int64_t last_insert_id() const;
  sqlite3* handle() const noexcept { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A prepared statement. Parameters are 1-based as in SQLite; columns 0-based.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::string>& text);

  // Advances to the next row; false when done.
  bool step();
  // Runs a statement that returns no rows.
  void run();

  std::int64_t integer(int column) const;
  std::string text(int column) const;
  std::string blob(int column) const;
  bool is_null(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction (takes the write lock up front, so two
// writers never deadlock upgrading a read), ROLLBACK on destruction unless
// commit() ran.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace ecr::server::sql
