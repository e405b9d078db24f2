#include "docker/baseimage.h"
#include "futures.h"

#include "docker/dockerclient.h"
#include "docker/dockererrors.h"
#include "docker/elfdeps.h"
#include "docker/tarwriter.h"
#include "policy/sandboxlayout.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QPromise>
#include <QStandardPaths>
#include <QThread>

#include <memory>

#include <sys/stat.h>
#include <unistd.h>

namespace airlock::docker {

namespace {

constexpr quint32 kAgentUid = 1000;

QString readLink(const QString &path)
{
    char buffer[4096];
    const ssize_t n = ::readlink(QFile::encodeName(path).constData(), buffer, sizeof buffer - 1);
    return n > 0 ? QFile::decodeName(QByteArray(buffer, n)) : QString();
}

// Copies host paths into the archive at the same place, recreating every symlink on the way, so that
// merged-/usr links (/bin -> usr/bin, /lib64 -> usr/lib64) and library soname links work as on the host.
class RootfsBuilder
{
public:
    TarWriter tar;
    int files = 0;
    int links = 0;
    qint64 bytes = 0;

    Result<void> dir(const QString &path, quint32 mode = 0755, quint32 uid = 0)
    {
        if (tar.contains(path))
            return {};
        return tar.addDirectory(path, mode, uid, uid);
    }

    Result<void> text(const QString &path, const QByteArray &data, quint32 mode = 0644)
    {
        ++files;
        bytes += data.size();
        return tar.addFile(path, data, mode);
    }

    // Makes a host folder exist in the image, links and all; returns its real host path.
    Result<QString> hostDir(const QString &path, int depth = 0)
    {
        if (depth > 16)
            return fail(ErrorCode::InvalidArgument, QStringLiteral("too many symbolic links under %1").arg(path));
        const QStringList parts = QDir::cleanPath(path).split(u'/', Qt::SkipEmptyParts);
        QString so = QString();
        for (qsizetype i = 0; i < parts.size(); ++i) {
            const QString next = so + u'/' + parts.at(i);
            const QFileInfo info(next);
            if (info.isSymLink()) {
                const QString raw = readLink(next);
                if (!tar.contains(next)) {
                    if (auto r = tar.addSymlink(next, raw); !r)
                        return std::unexpected(r.error());
                    ++links;
                }
                const QString target = raw.startsWith(u'/') ? raw : so + u'/' + raw;
                const QString rest = parts.mid(i + 1).join(u'/');
                return hostDir(QDir::cleanPath(target + (rest.isEmpty() ? QString() : u'/' + rest)), depth + 1);
            }
            if (!info.isDir())
                return fail(ErrorCode::NotFound, QStringLiteral("%1 is not a folder on this host").arg(next));
            if (auto r = dir(next, 0755); !r)
                return std::unexpected(r.error());
            so = next;
        }
        return so.isEmpty() ? QStringLiteral("/") : so;
    }

    Result<void> hostFile(const QString &path, int depth = 0)
    {
        if (depth > 16)
            return fail(ErrorCode::InvalidArgument, QStringLiteral("too many symbolic links at %1").arg(path));
        const QFileInfo info(path);
        auto parent = hostDir(info.path());
        if (!parent)
            return std::unexpected(parent.error());
        const QString here = *parent + u'/' + info.fileName();
        if (tar.contains(here))
            return {};
        const QFileInfo real(here);
        if (real.isSymLink()) {
            const QString raw = readLink(here);
            if (auto r = tar.addSymlink(here, raw); !r)
                return r;
            ++links;
            return hostFile(raw.startsWith(u'/') ? raw : *parent + u'/' + raw, depth + 1);
        }
        QFile file(here);
        if (!file.open(QIODevice::ReadOnly))
            return fail(ErrorCode::Io, QStringLiteral("cannot read %1: %2").arg(here, file.errorString()));
        const QByteArray data = file.readAll();
        struct stat st{};
        const quint32 mode = ::stat(QFile::encodeName(here).constData(), &st) == 0 ? (st.st_mode & 0755) : 0755;
        ++files;
        bytes += data.size();
        return tar.addFile(here, data, mode);
    }

    // A host folder and everything under it (links kept as links), or one file.
    Result<void> hostTree(const QString &path)
    {
        const QFileInfo info(path);
        if (!info.exists() && !info.isSymLink())
            return fail(ErrorCode::NotFound, QStringLiteral("%1 does not exist on this host").arg(path));
        if (!info.isDir() || info.isSymLink())
            return hostFile(path);
        auto real = hostDir(path);
        if (!real)
            return std::unexpected(real.error());
        QDirIterator it(*real, QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden | QDir::System,
                        QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QFileInfo entry(it.next());
            if (entry.isDir() && !entry.isSymLink()) {
                if (auto r = dir(entry.filePath(), 0755); !r)
                    return r;
            } else if (entry.isFile() || entry.isSymLink()) {
                if (auto r = hostFile(entry.filePath()); !r)
                    return r;
            }
        }
        return {};
    }

    Result<void> program(const QString &path)
    {
        auto closure = dependencyClosure(path);
        if (!closure)
            return std::unexpected(closure.error());
        for (const QString &file : std::as_const(*closure)) {
            if (auto r = hostFile(file); !r)
                return r;
        }
        return {};
    }
};

QString findBusybox(const QString &requested)
{
    if (requested == QLatin1String("none"))
        return {};
    if (!requested.isEmpty())
        return requested;
    for (const char *candidate : {"/usr/bin/busybox", "/bin/busybox"}) {
        if (QFileInfo(QString::fromLatin1(candidate)).isExecutable())
            return QString::fromLatin1(candidate);
    }
    return {};
}

} // namespace

QStringList fallbackPrograms()
{
    QStringList found;
    for (const char *name : {"sh", "ls", "cat", "cp", "mv", "rm", "mkdir", "rmdir", "echo", "env", "id", "grep", "sed",
                             "head", "tail", "wc", "sleep", "true", "false", "sort", "uniq", "uname", "touch", "chmod",
                             "ln", "pwd", "date", "tr", "cut", "find", "xargs", "dd", "test", "dirname", "basename"}) {
        const QString path = QStandardPaths::findExecutable(QString::fromLatin1(name),
                                                            {QStringLiteral("/usr/bin"), QStringLiteral("/bin")});
        if (!path.isEmpty())
            found << path;
    }
    return found;
}

QStringList baseImageChanges(const QString &kind)
{
    return {QStringLiteral("ENV PATH=") + QString::fromLatin1(policy::kSandboxPath),
            QStringLiteral("CMD [\"/bin/sh\"]"), QStringLiteral("LABEL airlock.image=") + kind};
}

Result<BaseRootfs> assembleBaseRootfs(const BaseImageOptions &options)
{
    RootfsBuilder b;
    for (const char *d : {"etc", "home", "proc", "sys", "dev", "run", "var", "usr", "usr/bin", "usr/sbin", "usr/lib",
                          "usr/local", "usr/local/bin", "airlock", "airlock/control"}) {
        if (auto r = b.dir(QString::fromLatin1(d)); !r)
            return std::unexpected(r.error());
    }
    for (auto [d, mode, uid] : {std::tuple{"tmp", 01777u, 0u}, std::tuple{"var/tmp", 01777u, 0u},
                                std::tuple{"root", 0700u, 0u}, std::tuple{"home/agent", 0755u, kAgentUid}}) {
        if (auto r = b.dir(QString::fromLatin1(d), mode, uid); !r)
            return std::unexpected(r.error());
    }
    const QByteArray passwd = "root:x:0:0:root:/root:/bin/sh\n"
                              "agent:x:1000:1000:Airlock agent:/home/agent:/bin/sh\n"
                              "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    const QByteArray group = "root:x:0:\nagent:x:1000:\nnogroup:x:65534:\n";
    for (auto [path, data] : {std::pair{"etc/passwd", passwd}, std::pair{"etc/group", group},
                              std::pair{"etc/nsswitch.conf", QByteArray("passwd: files\ngroup: files\nhosts: files dns\n")},
                              std::pair{"etc/os-release",
                                        QByteArray("NAME=\"Airlock base\"\nID=airlock-base\n"
                                                   "PRETTY_NAME=\"Airlock base (assembled offline from host files)\"\n")}}) {
        if (auto r = b.text(QString::fromLatin1(path), data); !r)
            return std::unexpected(r.error());
    }
    // The shim's mount point, so Docker need not create it on a read-only root.
    if (auto r = b.text(QString::fromLatin1(policy::kSandboxShim).mid(1), {}, 0755); !r)
        return std::unexpected(r.error());

    QStringList described;
    QStringList programs = options.programs;
    const QString busybox = findBusybox(options.busybox);
    if (busybox.isEmpty() && programs.isEmpty())
        programs = fallbackPrograms();
    for (const QString &program : std::as_const(programs)) {
        if (auto r = b.program(program); !r)
            return std::unexpected(r.error());
    }
    if (!programs.isEmpty())
        described << QStringLiteral("%1 host programs with their libraries").arg(programs.size());
    for (const QString &file : options.files) {
        if (auto r = b.hostTree(file); !r)
            return std::unexpected(r.error());
    }
    if (!options.files.isEmpty())
        described << QStringLiteral("%1 host files and folders").arg(options.files.size());

    if (!busybox.isEmpty()) {
        if (auto r = b.program(busybox); !r)
            return std::unexpected(r.error());
        QProcess list;
        list.start(busybox, {QStringLiteral("--list-full")});
        if (!list.waitForFinished(10000) || list.exitCode() != 0)
            return fail(ErrorCode::Io, QStringLiteral("%1 --list-full failed; is it a busybox?").arg(busybox));
        const QString target = QFileInfo(busybox).absoluteFilePath();
        int applets = 0;
        const QList<QByteArray> lines = list.readAllStandardOutput().split('\n');
        for (const QByteArray &line : lines) {
            const QString applet = QString::fromLocal8Bit(line).trimmed();
            if (applet.isEmpty() || applet.contains(QLatin1String("..")))
                continue;
            const QFileInfo where(u'/' + applet);
            auto parent = b.hostDir(where.path());
            if (!parent)
                continue; // a folder this host lacks; the applet is still reachable as "busybox NAME"
            const QString link = *parent + u'/' + where.fileName();
            if (b.tar.contains(link))
                continue; // a host program of that name was asked for
            if (auto r = b.tar.addSymlink(link, target); !r)
                return std::unexpected(r.error());
            ++b.links;
            ++applets;
        }
        auto elf = readElf(busybox);
        described.prepend(QStringLiteral("busybox from %1 (%2, %3 applets)")
                              .arg(busybox, elf && elf->interpreter.isEmpty() ? QStringLiteral("static") : QStringLiteral("dynamic"))
                              .arg(applets));
    }
    // The top-level links and folders programs expect, whether or not a program above needed them.
    for (const char *top : {"/bin", "/sbin", "/lib", "/lib64"}) {
        const QString path = QString::fromLatin1(top);
        if (QFileInfo::exists(path) && !b.tar.contains(path)) {
            if (auto r = b.hostDir(path); !r)
                return std::unexpected(r.error());
        }
    }
    if (!b.tar.contains(QStringLiteral("bin/sh")) && !b.tar.contains(QStringLiteral("usr/bin/sh")))
        return fail(ErrorCode::NotFound, QStringLiteral("the base image would have no /bin/sh: install busybox-static "
                                                        "('sudo apt install busybox-static') or name a shell with --add"));

    BaseRootfs rootfs;
    rootfs.files = b.files;
    rootfs.links = b.links;
    rootfs.bytes = b.bytes;
    const qsizetype entries = b.tar.entries();
    rootfs.tar = b.tar.finish();
    rootfs.summary = QStringLiteral("%1; %2 entries, %3").arg(described.join(QStringLiteral(" + "))).arg(entries).arg(formatBytes(rootfs.bytes));
    return rootfs;
}

QFuture<Result<QString>> buildBaseImage(DockerClient *client, const BaseImageOptions &options,
                                        std::function<void(const QString &)> note)
{
    // Reading the host's files (a hundred MiB for the agent image) happens on a thread of its own, so a
    // window stays responsive; the import goes on on the client's thread.
    auto promise = std::make_shared<QPromise<Result<QString>>>();
    promise->start();
    auto rootfs = std::make_shared<Result<BaseRootfs>>(std::unexpected(Error{ErrorCode::Cancelled, QString()}));
    if (note)
        note(QStringLiteral("assembling %1:%2 from this host's files").arg(options.repository, options.tag));
    QThread *worker = QThread::create([rootfs, options] { *rootfs = assembleBaseRootfs(options); });
    QObject::connect(worker, &QThread::finished, worker, &QObject::deleteLater);
    QObject::connect(worker, &QThread::finished, client, [client, promise, rootfs, options, note] {
        const auto settle = [promise](const Result<QString> &result) {
            promise->addResult(result);
            promise->finish();
        };
        if (!*rootfs) {
            settle(std::unexpected(rootfs->error()));
            return;
        }
        if (note)
            note(QStringLiteral("assembled the root file system: %1").arg((*rootfs)->summary));
        airlock::then(client->importImage((*rootfs)->tar, options.repository, options.tag, baseImageChanges(options.kind),
                            [note](const ProgressLine &line) {
                                if (note && !line.status.isEmpty())
                                    note(QStringLiteral("import: %1").arg(line.status));
                            }), client, settle);
        rootfs->value().tar.clear();
    });
    worker->start();
    return promise->future();
}

} // namespace airlock::docker
