#pragma once

#include "error.h"
#include "store/event.h"
#include "store/storereader.h"

#include <QCommandLineParser>
#include <QJsonValue>
#include <QStringList>

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

// Opens the store (creating or upgrading it) and a reader on it: a fresh machine lists nothing.
Result<store::StoreReader> openReader(const QString &dbPath);

int error(const QString &message, int status = Failed);
int error(const Error &e);
void out(const QString &line);
void outJson(const QJsonValue &value); // compact, one line
QString formatTime(qint64 msSinceEpoch);
QJsonObject eventToJson(const store::Event &e);
QJsonObject sessionToJson(const store::SessionRow &s);

int runSessions(const QString &verb, const Context &ctx);
int runEvents(const QString &verb, const Context &ctx);
int runDb(const QString &verb, const Context &ctx);
int runPolicy(const QString &verb, const Context &ctx);

} // namespace airlock::cli
