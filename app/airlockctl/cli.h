#pragma once

#include "error.h"
#include "store/event.h"
#include "store/storereader.h"

#include <QCommandLineParser>
#include <QJsonValue>
#include <QObject>
#include <QStringList>

#include <functional>
#include <memory>

namespace airlock::cli {

// Exit statuses: 0 success, 1 the operation failed, 2 the command line was wrong.
enum Exit { Ok = 0, Failed = 1, Usage = 2 };

// What every command gets: its own arguments (after the command words) and the global options.
struct Context {
    QStringList args;   // argv[0] + this command's arguments, ready for a QCommandLineParser
    QString command;    // e.g. "sessions list", for messages
    QString dbPath;     // resolved from --db, AIRLOCK_DB or the default
};

// Adds --help and --json-style common options, parses, and reports errors on one line.
// Returns false when the caller should return `exit`.
bool parse(QCommandLineParser &parser, const Context &ctx, int *exit);

// The --session, -n/--lines and --json options of the tail commands, checked: a session id, 0 to 1000000.
struct TailOptions {
    QString session;
    int lines = 20;
    bool json = false;
};
bool readTailOptions(const QCommandLineParser &parser, TailOptions *options, int *exit);

// SIGINT and SIGTERM call handler(signal) from the event loop for as long as the returned object lives;
// the default actions come back when it goes. nullptr when no pipe could be made for them.
std::unique_ptr<QObject> onInterrupt(std::function<void(int)> handler);

// Creates or upgrades the store and marks sessions whose owning process is gone as failed
// (session::reconcileOrphans); once per process.
Result<void> prepareStore(const QString &dbPath);
// prepareStore, then a reader on the store: a fresh machine lists nothing.
Result<store::StoreReader> openReader(const QString &dbPath);

int error(const QString &message, int status = Failed);
int error(const Error &e);
void out(const QString &line);
void outJson(const QJsonValue &value); // compact, one line
QString formatTime(qint64 msSinceEpoch);
QJsonObject eventToJson(const store::Event &e);
QJsonObject sessionToJson(const store::SessionRow &s);

// A group of commands ("policy") with its verbs ("list", "show" …). Each commands file registers its
// group with a static AIRLOCKCTL_GROUP(…) line, so adding a group touches no shared file but the
// CMake source list.
struct CommandGroup {
    QString name;
    QStringList verbs;
    int (*run)(const QString &verb, const Context &ctx);
    const char *usage; // lines for the top-level help, each "  group verb …   what it does\n"
    int order = 100;   // position in the help
};

bool registerGroup(const CommandGroup &group);
const QList<CommandGroup> &groups();

#define AIRLOCKCTL_CONCAT2(a, b) a##b
#define AIRLOCKCTL_CONCAT(a, b) AIRLOCKCTL_CONCAT2(a, b)
#define AIRLOCKCTL_GROUP(...)                                                                                \
    [[maybe_unused]] static const bool AIRLOCKCTL_CONCAT(airlockctl_group_, __LINE__) =                     \
        ::airlock::cli::registerGroup(::airlock::cli::CommandGroup __VA_ARGS__)

} // namespace airlock::cli
