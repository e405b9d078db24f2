#include "sandbox/agenthome.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace airlock::sandbox {

namespace {

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

// Whether uid may pass through the folder (search permission), as the kernel would decide without
// capabilities: owner bits for its owner, else the other bits (groups are not tried: a sandbox user
// is in its own group only).
bool canTraverse(const struct stat &st, uid_t uid)
{
    if (st.st_uid == uid)
        return st.st_mode & S_IXUSR;
    return st.st_mode & S_IXOTH;
}

} // namespace

Result<void> prepareAgentHome(const QString &dir, std::optional<uid_t> uid, std::optional<gid_t> gid,
                              std::optional<uid_t> traverseAs)
{
    const QString clean = QDir::cleanPath(dir);
    if (!QDir::isAbsolutePath(clean))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the agent's home %1 is not an absolute path").arg(dir));
    if (!QDir().mkpath(QFileInfo(clean).path()))
        return fail(ErrorCode::Io, QStringLiteral("cannot create %1").arg(QFileInfo(clean).path()));
    const QByteArray path = QFile::encodeName(clean);
    if (::mkdir(path.constData(), 0700) != 0 && errno != EEXIST)
        return fail(ErrorCode::Io, QStringLiteral("cannot create the agent's home %1: %2").arg(clean, errnoText(errno)));
    const int fd = ::open(path.constData(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("the agent's home %1 is not a folder of its own (%2); not used")
                                       .arg(clean, errnoText(errno)));
    struct stat st {};
    int err = 0;
    if (::fstat(fd, &st) != 0)
        err = errno;
    else if (::geteuid() == 0 && uid && gid && (st.st_uid != *uid || st.st_gid != *gid) && ::fchown(fd, *uid, *gid) != 0)
        err = errno;
    else if ((st.st_mode & 07777) != 0700 && ::fchmod(fd, 0700) != 0)
        err = errno;
    ::close(fd);
    if (err)
        return fail(ErrorCode::Io, QStringLiteral("cannot make the agent's home %1 private to its user: %2").arg(clean, errnoText(err)));
    if (traverseAs) {
        for (QString parent = QFileInfo(clean).path(); parent != QLatin1String("/"); parent = QFileInfo(parent).path()) {
            struct stat ps {};
            if (::stat(QFile::encodeName(parent).constData(), &ps) != 0 || !canTraverse(ps, *traverseAs))
                return fail(ErrorCode::InvalidArgument,
                            QStringLiteral("the agent's home %1 cannot be reached by uid %2, whom the sandbox runs as: %3 "
                                           "is closed to it; keep Airlock's store in a folder it can pass through (--db), or "
                                           "choose a policy with the ephemeral lifecycle")
                                .arg(clean)
                                .arg(*traverseAs)
                                .arg(parent));
        }
    }
    return {};
}

} // namespace airlock::sandbox
