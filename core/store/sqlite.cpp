#include "sqlite.h"

#include "paths.h"

#include <sqlite3.h>

#include <cerrno>

namespace airlock::store {

ErrorCode errorCodeFor(int sqliteCode)
{
    switch (sqliteCode & 0xff) {
    case SQLITE_NOTADB: return ErrorCode::NotADatabase;
    case SQLITE_CORRUPT: return ErrorCode::Corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ErrorCode::Busy;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM: return ErrorCode::Io;
    default: return ErrorCode::Storage;
    }
}

namespace {

// SQLite says SQLITE_FULL when a write finds the disk full, but a full disk met while growing the
// WAL index or creating a file surfaces as an I/O error; the errno behind it tells.
bool diskFull(sqlite3 *db, int rc)
{
    const int primary = rc & 0xff;
    if (primary == SQLITE_FULL)
        return true;
    return db && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) && sqlite3_system_errno(db) == ENOSPC;
}

// The error for a failed call: a full disk is named as such, everything else keeps SQLite's words.
Error failure(sqlite3 *db, int rc, const QString &context, const QString &path, const QString &sqliteMessage)
{
    if (diskFull(db, rc))
        return Error{ErrorCode::Io, noSpaceMessage(path)};
    return Error{errorCodeFor(rc), QStringLiteral("%1 %2: %3").arg(context, path, sqliteMessage)};
}

} // namespace

Connection::Connection(Connection &&other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_path(std::move(other.m_path))
{
}

Connection &Connection::operator=(Connection &&other) noexcept
{
    if (this != &other) {
        if (m_db)
            sqlite3_close_v2(m_db);
        m_db = std::exchange(other.m_db, nullptr);
        m_path = std::move(other.m_path);
    }
    return *this;
}

Connection::~Connection()
{
    if (m_db)
        sqlite3_close_v2(m_db);
}

Result<Connection> Connection::open(const QString &path, Mode mode)
{
    Connection c;
    c.m_path = path;
    const int flags = (mode == Mode::ReadOnly ? SQLITE_OPEN_READONLY
                                              : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.toUtf8().constData(), &c.m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        Error e = c.lastError(QStringLiteral("cannot open"));
        e.code = errorCodeFor(rc);
        return std::unexpected(e);
    }
    sqlite3_extended_result_codes(c.m_db, 1);
    // Other processes (the GUI, airlockctl) write too: wait for their locks rather than fail.
    sqlite3_busy_timeout(c.m_db, 10000);
    return c;
}

Error Connection::lastError(const QString &context) const
{
    const int rc = m_db ? sqlite3_extended_errcode(m_db) : SQLITE_NOMEM;
    const char *msg = m_db ? sqlite3_errmsg(m_db) : "out of memory";
    return failure(m_db, rc, context, m_path, QString::fromUtf8(msg));
}

Result<void> Connection::exec(const char *sql)
{
    char *err = nullptr;
    const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        const QString msg = err ? QString::fromUtf8(err) : QString::fromUtf8(sqlite3_errstr(rc));
        sqlite3_free(err);
        return std::unexpected(failure(m_db, rc, QStringLiteral("database"), m_path, msg));
    }
    return {};
}

Result<Statement> Connection::prepare(const char *sql)
{
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
        return std::unexpected(lastError(QStringLiteral("cannot prepare a query on")));
    return Statement(stmt);
}

Result<qint64> Connection::queryInt(const char *sql)
{
    auto stmt = prepare(sql);
    if (!stmt)
        return std::unexpected(stmt.error());
    auto row = stmt->step();
    if (!row)
        return std::unexpected(row.error());
    return *row ? stmt->columnInt(0) : 0;
}

Statement::Statement(Statement &&other) noexcept
    : m_stmt(std::exchange(other.m_stmt, nullptr))
{
}

Statement &Statement::operator=(Statement &&other) noexcept
{
    if (this != &other) {
        if (m_stmt)
            sqlite3_finalize(m_stmt);
        m_stmt = std::exchange(other.m_stmt, nullptr);
    }
    return *this;
}

Statement::~Statement()
{
    if (m_stmt)
        sqlite3_finalize(m_stmt);
}

void Statement::bind(int index, qint64 value)
{
    sqlite3_bind_int64(m_stmt, index, value);
}

void Statement::bind(int index, const QString &value)
{
    if (value.isNull()) {
        sqlite3_bind_null(m_stmt, index);
        return;
    }
    const QByteArray utf8 = value.toUtf8();
    sqlite3_bind_text(m_stmt, index, utf8.constData(), int(utf8.size()), SQLITE_TRANSIENT);
}

void Statement::bind(int index, const QByteArray &value)
{
    sqlite3_bind_text(m_stmt, index, value.constData(), int(value.size()), SQLITE_TRANSIENT);
}

void Statement::bindNull(int index)
{
    sqlite3_bind_null(m_stmt, index);
}

Result<bool> Statement::step()
{
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    sqlite3 *db = sqlite3_db_handle(m_stmt);
    const char *file = sqlite3_db_filename(db, "main");
    Error e = failure(db, sqlite3_extended_errcode(db), QStringLiteral("query failed on"),
                      QString::fromUtf8(file ? file : ""), QString::fromUtf8(sqlite3_errmsg(db)));
    sqlite3_reset(m_stmt);
    return std::unexpected(e);
}

Result<void> Statement::run()
{
    for (;;) {
        auto r = step();
        if (!r)
            return std::unexpected(r.error());
        if (!*r)
            break;
    }
    reset();
    return {};
}

void Statement::reset()
{
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

qint64 Statement::columnInt(int column) const
{
    return sqlite3_column_int64(m_stmt, column);
}

QString Statement::columnText(int column) const
{
    const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(m_stmt, column));
    if (!text)
        return {};
    return QString::fromUtf8(text, sqlite3_column_bytes(m_stmt, column));
}

QByteArray Statement::columnBytes(int column) const
{
    const auto *text = reinterpret_cast<const char *>(sqlite3_column_text(m_stmt, column));
    return text ? QByteArray(text, sqlite3_column_bytes(m_stmt, column)) : QByteArray();
}

bool Statement::columnIsNull(int column) const
{
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

} // namespace airlock::store

namespace airlock::store {
QString sqliteVersion()
{
    return QString::fromLatin1(sqlite3_libversion());
}
} // namespace airlock::store
