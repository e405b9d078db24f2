#pragma once

#include "error.h"
#include "store/event.h"

#include <QJsonObject>
#include <QList>
#include <QMetaType>
#include <QStringList>
#include <QString>

#include <optional>

namespace airlock::workspace {

namespace kinds {
// payload: see toPayload(Checkpoint) below and README.md.
inline constexpr auto CheckpointCreated = "checkpoint.created";
// payload: commit (restored), safety (the checkpoint holding the state before), written, removed, workspace.
inline constexpr auto CheckpointRewound = "checkpoint.rewound";
// payload: cause, turn, toolCallId, error, code. A snapshot that could not be taken, so the
// history shows the gap and why.
inline constexpr auto CheckpointFailed = "checkpoint.failed";
} // namespace kinds

// Why a checkpoint was taken.
enum class Cause {
    Start,    // the session's workspace as it was before the agent began
    Turn,     // after an agent turn
    ToolCall, // after a tool call that may have changed files (edit, delete, move, execute)
    Manual,   // asked for (the dock's button, airlockctl checkpoints create)
    Safety,   // the state just before a rewind or an in-place fork, so it can be undone
    Fork,     // the first checkpoint of a fork: the parent's checkpoint it starts from
};
QString nameOf(Cause cause);
std::optional<Cause> parseCause(QStringView name);
// "after tool call tc_9 (turn 3)", for lists and messages.
QString describeCause(Cause cause, int turn, const QString &toolCallId);

enum class FileStatus { Added, Deleted, Modified, Renamed, TypeChanged, Skipped };
QString nameOf(FileStatus status);
std::optional<FileStatus> parseFileStatus(QStringView name);
QChar statusLetter(FileStatus status); // A D M R T S, as git prints them

struct FileChange {
    QString path;
    QString oldPath; // renames
    FileStatus status = FileStatus::Modified;
    int added = 0;   // lines
    int removed = 0;
    bool binary = false;
    quint32 oldMode = 0; // git modes (0100644, 0100755, 0120000); 0 when absent
    quint32 newMode = 0;
};

struct SkippedFile {
    QString path;
    qint64 size = 0;
    QString reason; // "size" (over the cap) or "unreadable"
};

// One checkpoint.created event, decoded.
struct Checkpoint {
    QString session;
    QString commit;       // the snapshot (40 hex digits)
    QString parent;       // the snapshot before it in this history; empty for the first
    QString tree;
    qint64 seq = 0;       // of the checkpoint.created event
    qint64 time = 0;      // ms since the epoch, UTC
    qint64 afterSeq = 0;  // the last event the snapshot follows: the transcript up to here
    Cause cause = Cause::Manual;
    int turn = -1;        // -1: none
    QString toolCallId;
    QString label;
    QString workspace;
    QList<FileChange> files; // against `parent`, by path; at most kMaxListedFiles
    int filesTotal = 0;
    int linesAdded = 0;   // over the listed files
    int linesRemoved = 0;
    QList<SkippedFile> skipped; // at most kMaxListedFiles
    int skippedTotal = 0;
    QString fromSession;  // Cause::Fork: the session whose checkpoint `commit` this fork starts from
    qint64 durationMs = 0;
    // Cause::Start: the protected entries the workspace held (protectedsweep.h); a rewind or fork
    // removes any other. nullopt: not recorded (older checkpoints, or too many to list).
    std::optional<QStringList> protectedEntries;

    QString shortId() const { return commit.left(8); }
    bool filesTruncated() const { return files.size() < filesTotal; }
};

inline constexpr int kMaxListedFiles = 1000;

QJsonObject toPayload(const Checkpoint &c);
Result<Checkpoint> checkpointFromEvent(const store::Event &e);
// The event's view for `airlockctl --json` and exports: payload fields plus session, seq and time.
QJsonObject toJson(const Checkpoint &c);
QJsonObject toJson(const FileChange &f);

struct RewindRecord {
    QString session;
    qint64 seq = 0;
    qint64 time = 0;
    QString commit; // restored
    QString safety; // the checkpoint holding the state before
    int written = 0;
    int removed = 0;
    QStringList protectedRemoved; // protected entries the session did not start with, removed
};
Result<RewindRecord> rewindFromEvent(const store::Event &e);

struct FailureRecord {
    QString session;
    qint64 seq = 0;
    qint64 time = 0;
    QString cause;
    QString message;
};

QString modeString(quint32 mode); // "100644"

} // namespace airlock::workspace

Q_DECLARE_METATYPE(airlock::workspace::Checkpoint)
