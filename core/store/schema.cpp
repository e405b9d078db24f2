#include "schema.h"

#include <QDir>
#include <QFileInfo>

#include <sqlite3.h>

#include <algorithm>

namespace airlock::store {

namespace {

// Schema v1: the event log and the tables other features project into or configure.
constexpr const char kV1[] = R"sql(
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY,
    session TEXT,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (json_valid(payload)),
    time    INTEGER NOT NULL
);
CREATE INDEX events_by_session ON events(session, seq) WHERE session IS NOT NULL;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Projection of session.* events, maintained by the writer in the same transaction.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL DEFAULT '',
    agent       TEXT,
    policy      TEXT,
    workspace   TEXT,
    state       TEXT NOT NULL DEFAULT 'created',
    parent      TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    event_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_by_last_seq ON sessions(last_seq);

CREATE TABLE agent_profiles (
    name           TEXT PRIMARY KEY,
    command        TEXT NOT NULL,
    args           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(args)),
    env_allow      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(env_allow)),
    placement      TEXT NOT NULL DEFAULT 'sandbox' CHECK (placement IN ('sandbox', 'host')),
    default_policy TEXT,
    created        INTEGER NOT NULL,
    updated        INTEGER NOT NULL
);

-- Every saved version of every policy; the highest version is the current one.
CREATE TABLE policies (
    name     TEXT NOT NULL,
    version  INTEGER NOT NULL CHECK (version >= 1),
    document TEXT NOT NULL CHECK (json_valid(document)),
    note     TEXT NOT NULL DEFAULT '',
    created  INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

-- Small namespaced settings and state that are not events (window state stays in QSettings).
CREATE TABLE kv (
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
)sql";

// Schema v2: the approvals inbox, projected from permission.* and approval.answered events. An
// answer may come from another process than the one running the session: it is recorded first
// (answered_*), and the session's own process then decides (decided_*).
constexpr const char kV2[] = R"sql(
CREATE TABLE approvals (
    session        TEXT NOT NULL,
    request        TEXT NOT NULL,
    requested_seq  INTEGER NOT NULL,
    requested_time INTEGER NOT NULL,
    tool_call      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(tool_call)),
    options        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(options)),
    rule           TEXT NOT NULL DEFAULT '',
    explanation    TEXT NOT NULL DEFAULT '',
    answered_seq   INTEGER,
    answer         TEXT,
    answered_by    TEXT,
    decided_seq    INTEGER,
    decision       TEXT,
    decided_by     TEXT,
    PRIMARY KEY (session, request)
) WITHOUT ROWID;
CREATE INDEX approvals_open ON approvals(requested_seq) WHERE decided_seq IS NULL;
)sql";

// Schema v3: a session can be deleted. The log stays append-only for everything else: a session's
// events may be deleted only when a session.deleted tombstone, newer than them, is in the log; the
// tombstone itself is never deleted, so the log keeps saying what went, when, and how many events.
// purgeSession() (maintenance.h) writes the tombstone and deletes in one transaction.
constexpr const char kV3[] = R"sql(
CREATE INDEX events_tombstones ON events(session, seq) WHERE kind = 'session.deleted';
DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    WHEN OLD.session IS NULL OR OLD.kind = 'session.deleted'
        OR NOT EXISTS (SELECT 1 FROM events WHERE kind = 'session.deleted' AND session = OLD.session
                       AND seq > OLD.seq)
    BEGIN SELECT RAISE(ABORT, 'events are append-only; only a deleted session''s events may go'); END;
)sql";

constexpr Migration kMigrations[] = {
    {1, kV1},
    {2, kV2},
    {3, kV3},
};

constexpr char kSqliteMagic[] = "SQLite format 3";

QString untouched(const QString &path)
{
    return QStringLiteral(" Airlock left %1 untouched; move it away or choose another file with --db "
                          "or AIRLOCK_DB.")
        .arg(path);
}

// The first `bytes` bytes of the main database file and its size, read through SQLite's own file
// handle.
Result<QByteArray> readFileHeader(Connection &db, int bytes, qint64 *fileSize)
{
    sqlite3_file *file = nullptr;
    if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file
        || !file->pMethods)
        return fail(ErrorCode::Io, QStringLiteral("cannot read %1: SQLite has no file open for it").arg(db.path()));
    auto failed = [&](int rc) {
        return fail(errorCodeFor(rc), QStringLiteral("cannot read %1: %2").arg(db.path(), QString::fromUtf8(sqlite3_errstr(rc))));
    };
    sqlite3_int64 size = 0;
    if (int rc = file->pMethods->xFileSize(file, &size); rc != SQLITE_OK)
        return failed(rc);
    *fileSize = size;
    QByteArray head(int(std::min<sqlite3_int64>(size, bytes)), '\0');
    if (head.isEmpty())
        return head;
    if (int rc = file->pMethods->xRead(file, head.data(), int(head.size()), 0); rc != SQLITE_OK)
        return failed(rc);
    return head;
}

// Judges the bytes on disk before SQLite gets a chance to write anything. They are read through
// the connection's own file handle: opening and closing the file any other way would drop the locks
// this process's other connections hold on it (POSIX locks belong to the process, and any close
// releases them), and another process would then take the WAL away from under them.
Result<void> checkFileHeader(Connection &db)
{
    const QString &path = db.path();
    qint64 size = 0;
    auto head = readFileHeader(db, 16, &size);
    if (!head)
        return std::unexpected(head.error());
    if (size == 0)
        return {}; // an empty file is a database with nothing in it yet
    if (head->size() < 16 || !head->startsWith(kSqliteMagic) || head->at(15) != '\0')
        return fail(ErrorCode::NotADatabase,
                    QStringLiteral("%1 is not an Airlock database (it is not an SQLite file).").arg(path)
                        + untouched(path));
    if (size < 512)
        return fail(ErrorCode::Corrupt,
                    QStringLiteral("%1 is damaged: it is shorter than one SQLite page.").arg(path)
                        + untouched(path));
    return {};
}

} // namespace

std::span<const Migration> migrations()
{
    return kMigrations;
}

int currentSchemaVersion()
{
    return kMigrations[std::size(kMigrations) - 1].version;
}

namespace {
Result<void> checkIdentityInTransaction(Connection &db, int knownVersion)
{
    const QString &path = db.path();
    auto appId = db.queryInt("PRAGMA application_id");
    if (!appId) {
        Error e = appId.error();
        if (e.code == ErrorCode::NotADatabase || e.code == ErrorCode::Corrupt)
            e.message = QStringLiteral("%1 is damaged or not a database (%2).").arg(path, e.message)
                + untouched(path);
        return std::unexpected(e);
    }
    auto objects = db.queryInt("SELECT count(*) FROM sqlite_schema");
    if (!objects)
        return std::unexpected(objects.error());
    if (*appId != kApplicationId && !(*appId == 0 && *objects == 0))
        return fail(ErrorCode::NotADatabase,
                    QStringLiteral("%1 belongs to another program (it is an SQLite database, but not "
                                   "Airlock's).")
                        .arg(path)
                        + untouched(path));
    auto version = db.queryInt("PRAGMA user_version");
    if (!version)
        return std::unexpected(version.error());
    if (*version > knownVersion)
        return fail(ErrorCode::NewerSchema,
                    QStringLiteral("%1 was written by a newer Airlock (schema version %2; this build "
                                   "knows up to %3). Update Airlock to open it.")
                        .arg(path)
                        .arg(*version)
                        .arg(knownVersion));
    return {};
}
} // namespace

Result<void> checkIdentity(Connection &db, int knownVersion)
{
    // The reads below share one snapshot: a process creating the schema meanwhile must not be seen
    // half-way (no application id yet, but tables already), which looks like another program's file.
    if (auto begun = db.exec("BEGIN"); !begun)
        return begun;
    auto checked = checkIdentityInTransaction(db, knownVersion);
    (void)db.exec("ROLLBACK");
    return checked;
}

Result<void> migrate(Connection &db, std::span<const Migration> steps)
{
    for (const Migration &step : steps) {
        // BEGIN IMMEDIATE takes the write lock first, so two processes never migrate the same step.
        if (auto r = db.exec("BEGIN IMMEDIATE"); !r)
            return r;
        auto version = db.queryInt("PRAGMA user_version");
        if (!version) {
            (void)db.exec("ROLLBACK");
            return std::unexpected(version.error());
        }
        if (*version >= step.version) {
            (void)db.exec("ROLLBACK");
            continue;
        }
        const QByteArray bump = QByteArrayLiteral("PRAGMA user_version = ") + QByteArray::number(step.version)
            + QByteArrayLiteral("; PRAGMA application_id = ") + QByteArray::number(kApplicationId);
        auto applied = db.exec(step.sql);
        if (applied)
            applied = db.exec(bump.constData());
        if (applied)
            applied = db.exec("COMMIT");
        if (!applied) {
            (void)db.exec("ROLLBACK");
            Error e = applied.error();
            e.message = QStringLiteral("upgrading %1 to schema version %2 failed, nothing was changed: %3")
                            .arg(db.path())
                            .arg(step.version)
                            .arg(e.message);
            return std::unexpected(e);
        }
    }
    return {};
}

Result<Connection> openDatabase(const QString &path)
{
    if (path.isEmpty())
        return fail(ErrorCode::InvalidArgument, QStringLiteral("no database path given"));
    const QFileInfo info(path);
    if (info.isDir())
        return fail(ErrorCode::NotADatabase,
                    QStringLiteral("%1 is a folder, not an Airlock database.").arg(path) + untouched(path));
    if (!info.exists() && !QDir().mkpath(info.absolutePath()))
        return fail(ErrorCode::Io, QStringLiteral("cannot create the folder %1 for the database")
                                       .arg(info.absolutePath()));

    auto db = Connection::open(path, Connection::Mode::ReadWrite);
    if (!db)
        return db;
    if (auto header = checkFileHeader(*db); !header)
        return std::unexpected(header.error());
    if (auto id = checkIdentity(*db, currentSchemaVersion()); !id)
        return std::unexpected(id.error());
    // WAL lets readers in other threads and processes work while the writer commits.
    auto mode = db->prepare("PRAGMA journal_mode = WAL");
    if (!mode)
        return std::unexpected(mode.error());
    if (auto row = mode->step(); !row)
        return std::unexpected(row.error());
    if (mode->columnText(0).compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot use write-ahead logging for %1 (journal mode "
                                                  "is %2); is it on a network file system?")
                                       .arg(path, mode->columnText(0)));
    mode = {};
    if (auto r = db->exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"); !r)
        return std::unexpected(r.error());
    if (auto r = migrate(*db, migrations()); !r)
        return std::unexpected(r.error());
    return db;
}

} // namespace airlock::store
