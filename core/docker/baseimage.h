#pragma once

#include "error.h"

#include <QByteArray>
#include <QFuture>
#include <QStringList>

#include <functional>

// The offline base image: a small root file system assembled from files already on this host (a static
// busybox, or host programs with the libraries ld.so would load for them), imported through the Engine
// API. A fresh machine gets a working Docker sandbox with no registry at all.

namespace airlock::docker {

class DockerClient;

inline constexpr char kBaseImageRepository[] = "airlock-base";
inline constexpr char kBaseImageTag[] = "latest";
inline constexpr char kBaseImage[] = "airlock-base:latest";

struct BaseImageOptions
{
    QString repository = QString::fromLatin1(kBaseImageRepository);
    QString tag = QString::fromLatin1(kBaseImageTag);
    QString busybox;     // empty: /usr/bin/busybox or /bin/busybox when present; "none": leave it out
    QStringList programs; // host programs to copy with their libraries, on top of busybox
    QStringList files;    // host files and folders (with everything under them) copied as they are
    QString kind = QStringLiteral("base"); // label airlock.image
};

// Used when there is no busybox: enough of coreutils, grep, sed and a shell for an agent's tools.
QStringList fallbackPrograms();

struct BaseRootfs
{
    QByteArray tar;
    int files = 0;
    int links = 0;
    qint64 bytes = 0;   // of file contents
    QString summary;    // "busybox (static, 398 applets), 3 host programs, 412 entries, 2.1 MiB"
};

Result<BaseRootfs> assembleBaseRootfs(const BaseImageOptions &options);

// The Dockerfile lines the import applies (PATH, the default command, the airlock.image label).
QStringList baseImageChanges(const QString &kind = QStringLiteral("base"));

// Assembles and imports; the new image's id. note() hears what happens, for a CLI or a log.
QFuture<Result<QString>> buildBaseImage(DockerClient *client, const BaseImageOptions &options,
                                        std::function<void(const QString &)> note = {});

} // namespace airlock::docker
