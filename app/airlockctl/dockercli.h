#pragma once
// What airlockctl's Docker commands (docker …, image …) share.
#include "cli.h"

#include <QCommandLineOption>
#include <QCoreApplication>
#include <QFuture>

#include <cstdio>

namespace airlock::cli::dockercli {

// Runs the event loop until the future is done; the CLI has nothing else to do meanwhile.
template<typename T>
Result<T> await(const QFuture<Result<T>> &future)
{
    while (!future.isFinished())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    if (future.isCanceled() || future.resultCount() == 0)
        return fail(ErrorCode::Cancelled, QStringLiteral("the Docker call was cancelled"));
    return future.result();
}

inline void note(const QString &line)
{
    std::fprintf(stderr, "%s\n", qPrintable(line));
}

inline const QCommandLineOption kJson(QStringLiteral("json"), QStringLiteral("Print JSON."));

inline QString shortId(const QString &id)
{
    return id.startsWith(QLatin1String("sha256:")) ? id.mid(7, 12) : id.left(12);
}

} // namespace airlock::cli::dockercli
