#pragma once

#include "error.h"

#include <QJsonObject>
#include <QList>
#include <QString>

class QIODevice;

namespace airlock::store {
class EventStore;
}

namespace airlock::workspace {

// A session export is one JSON document:
//   {"format": "airlock-session", "version": 1, "exportedAt": ISO-8601, "airlockVersion": "…",
//    "session": {"id", "title", "agent", "policy", "workspace", "parent", "state", "created", "updated"},
//    "events": [{"seq": n, "time": ms, "kind": "…", "payload": {…}}, …]}
// Events are every event of the session, oldest first, payloads verbatim; times are ms since the
// epoch, UTC. Snapshot files are not included (the Markdown transcript carries the diffs).
inline constexpr char kExportFormat[] = "airlock-session";
inline constexpr int kExportVersion = 1;

Result<void> exportSessionJson(const QString &dbPath, const QString &session, QIODevice *out);

struct TranscriptOptions {
    bool diffs = true;                         // each checkpoint's unified diff, when its files are here
    qsizetype maxDiffBytes = 64 * 1024;        // per checkpoint
    qsizetype maxFieldChars = 4000;            // tool input/output and unknown payloads are cut here
    qint64 uptoSeq = 0;                        // stop after this event (a fork's conversation so far); 0: all
};
// A readable transcript: messages, tool calls, decisions, checkpoints with their diffs.
Result<void> exportSessionMarkdown(const QString &dbPath, const QString &session, QIODevice *out,
                                   const TranscriptOptions &options = {});

struct ImportOptions {
    QString asSession;                   // the id to import under; empty: the export's own
    qint64 maxBytes = 256 * 1024 * 1024;
    qint64 maxEvents = 1000000;
};

struct ArchivedEvent {
    qint64 seq = 0;
    qint64 time = 0;
    QString kind;
    QJsonObject payload;
};

struct SessionArchive {
    int version = 0;
    QString exportedAt;
    QJsonObject session;
    QString id;
    QList<ArchivedEvent> events;
};

// Strict: every field is checked, unknown fields are refused, and the first problem is named with
// where it is ("event 12 (seq 345): …").
Result<SessionArchive> parseSessionExport(const QByteArray &data, const ImportOptions &options = {});

struct ImportOutcome {
    QString session;          // the id it was stored under
    QString originalSession;  // the id in the file
    bool renamed = false;     // the original id was taken: "<id>-imported", then "-imported-2" …
    int events = 0;
};

// Checks the whole file before anything is written — strictly, then by a dry run into an empty
// scratch store (the store's own checks and projections) — then appends the events under the new id,
// followed by a session.imported event (the file, the original id and time span). Event times are
// those of the import; the export's are kept in the file and its session.imported summary.
Result<ImportOutcome> importSession(store::EventStore &store, const QString &file, const ImportOptions &options = {});
Result<ImportOutcome> importSessionData(store::EventStore &store, const QByteArray &data, const QString &origin,
                                        const ImportOptions &options = {});

inline constexpr auto kSessionImported = "session.imported";

} // namespace airlock::workspace
