#pragma once

#include "error.h"

#include <QByteArray>
#include <QString>

#include <memory>
#include <optional>

struct sqlite3;
struct sqlite3_stmt;

namespace airlock::store {

class Statement;

// An owned SQLite connection. Not thread-safe: each thread opens its own.
class Connection
{
public:
    enum class Mode { ReadWrite, ReadOnly };

    Connection() = default;
    Connection(Connection &&other) noexcept;
    Connection &operator=(Connection &&other) noexcept;
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;
    ~Connection();

    // Opens the file without judging its content; see schema.h for that.
    static Result<Connection> open(const QString &path, Mode mode);

    Result<void> exec(const char *sql);
    Result<Statement> prepare(const char *sql);
    // Runs a query that yields one integer (a PRAGMA, a count).
    Result<qint64> queryInt(const char *sql);

    Error lastError(const QString &context) const;
    sqlite3 *handle() const { return m_db; }
    const QString &path() const { return m_path; }

private:
    sqlite3 *m_db = nullptr;
    QString m_path;
};

// A prepared statement; bind indices start at 1, column indices at 0.
class Statement
{
public:
    Statement() = default;
    Statement(Statement &&other) noexcept;
    Statement &operator=(Statement &&other) noexcept;
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;
    ~Statement();

    void bind(int index, qint64 value);
    void bind(int index, const QString &value);   // a null QString binds NULL
    void bind(int index, const QByteArray &value); // bound as text
    void bindNull(int index);

    // true: a row is ready; false: done. Errors are reported through the connection.
    Result<bool> step();
    Result<void> run(); // step to completion, ignoring rows
    void reset();

    qint64 columnInt(int column) const;
    QString columnText(int column) const;
    QByteArray columnBytes(int column) const;
    bool columnIsNull(int column) const;

private:
    friend class Connection;
    explicit Statement(sqlite3_stmt *stmt) : m_stmt(stmt) {}
    sqlite3_stmt *m_stmt = nullptr;
};

// Maps an SQLite result code to our error codes.
ErrorCode errorCodeFor(int sqliteCode);

} // namespace airlock::store

namespace airlock::store {
// The SQLite library version in use, for About boxes and bug reports.
QString sqliteVersion();
} // namespace airlock::store
