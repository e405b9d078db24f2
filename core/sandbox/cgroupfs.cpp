#include "sandbox/cgroupfs.h"

#include <QDir>
#include <QFile>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock::sandbox::cgroupfs {

namespace {

constexpr qsizetype kMaxLines = 65536;

std::unexpected<Error> malformed(const char *file, qsizetype line, const QString &why)
{
    return fail(ErrorCode::InvalidArgument,
                QStringLiteral("%1 line %2: %3").arg(QLatin1StringView(file)).arg(line + 1).arg(why));
}

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::optional<QString> unescape(QByteArrayView field)
{
    QByteArray out;
    out.reserve(field.size());
    for (qsizetype i = 0; i < field.size(); ++i) {
        const char c = field[i];
        if (c != '\\') {
            out.append(c);
            continue;
        }
        if (i + 3 >= field.size())
            return std::nullopt;
        int value = 0;
        for (int k = 1; k <= 3; ++k) {
            const char d = field[i + k];
            if (d < '0' || d > '7')
                return std::nullopt;
            value = value * 8 + (d - '0');
        }
        if (value == 0 || value > 255)
            return std::nullopt;
        out.append(static_cast<char>(value));
        i += 3;
    }
    return QString::fromUtf8(out);
}

QList<QByteArrayView> splitLines(QByteArrayView text)
{
    QList<QByteArrayView> lines;
    qsizetype start = 0;
    while (start < text.size()) {
        qsizetype end = text.indexOf('\n', start);
        if (end < 0)
            end = text.size();
        lines.append(text.sliced(start, end - start));
        start = end + 1;
    }
    return lines;
}

QList<QByteArrayView> splitSpaces(QByteArrayView line)
{
    QList<QByteArrayView> fields;
    qsizetype start = 0;
    while (start <= line.size()) {
        qsizetype end = line.indexOf(' ', start);
        if (end < 0)
            end = line.size();
        fields.append(line.sliced(start, end - start));
        start = end + 1;
    }
    return fields;
}

bool isDecimal(QByteArrayView s)
{
    if (s.isEmpty() || s.size() > 10)
        return false;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
    }
    return true;
}

} // namespace

Result<QList<Membership>> parseProcCgroup(QByteArrayView text)
{
    if (text.size() > kMaxProcFileBytes)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("/proc/self/cgroup is larger than 1 MiB"));
    QList<Membership> out;
    const QList<QByteArrayView> lines = splitLines(text);
    if (lines.size() > kMaxLines)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("/proc/self/cgroup has too many lines"));
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QByteArrayView line = lines.at(i);
        if (line.isEmpty())
            continue;
        const qsizetype first = line.indexOf(':');
        const qsizetype second = first < 0 ? -1 : line.indexOf(':', first + 1);
        if (second < 0)
            return malformed("/proc/self/cgroup", i, QStringLiteral("not 'id:controllers:path'"));
        const QByteArrayView id = line.first(first);
        const QByteArrayView controllers = line.sliced(first + 1, second - first - 1);
        const QByteArrayView path = line.sliced(second + 1); // may itself contain ':'
        if (!isDecimal(id))
            return malformed("/proc/self/cgroup", i, QStringLiteral("the hierarchy id is not a number"));
        if (!path.startsWith('/'))
            return malformed("/proc/self/cgroup", i, QStringLiteral("the path is not absolute"));
        Membership m;
        m.hierarchy = QByteArray(id.data(), id.size()).toInt();
        if (!controllers.isEmpty())
            m.controllers = QString::fromUtf8(controllers).split(u',');
        if (m.hierarchy == 0 && !m.controllers.isEmpty())
            return malformed("/proc/self/cgroup", i, QStringLiteral("hierarchy 0 lists controllers"));
        m.path = QString::fromUtf8(path);
        out.append(m);
    }
    return out;
}

Result<QList<Mount>> parseMountInfo(QByteArrayView text)
{
    if (text.size() > kMaxProcFileBytes)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("/proc/self/mountinfo is larger than 1 MiB"));
    QList<Mount> out;
    const QList<QByteArrayView> lines = splitLines(text);
    if (lines.size() > kMaxLines)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("/proc/self/mountinfo has too many lines"));
    for (qsizetype i = 0; i < lines.size(); ++i) {
        const QByteArrayView line = lines.at(i);
        if (line.isEmpty())
            continue;
        const QList<QByteArrayView> fields = splitSpaces(line);
        // id parent major:minor root mount-point options [optional…] - fstype source super-options
        qsizetype dash = -1;
        for (qsizetype f = 6; f < fields.size(); ++f) {
            if (fields.at(f) == "-") {
                dash = f;
                break;
            }
        }
        if (fields.size() < 10 || dash < 0 || fields.size() != dash + 4)
            return malformed("/proc/self/mountinfo", i, QStringLiteral("does not have the mountinfo fields"));
        if (!isDecimal(fields.at(0)) || !isDecimal(fields.at(1)) || !fields.at(2).contains(':'))
            return malformed("/proc/self/mountinfo", i, QStringLiteral("the mount ids are not numbers"));
        const QByteArrayView fsType = fields.at(dash + 1);
        if (fsType != "cgroup" && fsType != "cgroup2")
            continue;
        const std::optional<QString> root = unescape(fields.at(3));
        const std::optional<QString> mountPoint = unescape(fields.at(4));
        if (!root || !mountPoint || !root->startsWith(u'/') || !mountPoint->startsWith(u'/'))
            return malformed("/proc/self/mountinfo", i, QStringLiteral("a path is not absolute or badly escaped"));
        Mount m;
        m.root = *root;
        m.mountPoint = *mountPoint;
        m.v2 = fsType == "cgroup2";
        const QStringList options = QString::fromUtf8(fields.at(5)).split(u',');
        m.readOnly = options.contains(QStringLiteral("ro"));
        if (!m.v2) {
            static const QStringList notControllers{QStringLiteral("rw"), QStringLiteral("ro"),
                                                    QStringLiteral("relatime"), QStringLiteral("noatime"),
                                                    QStringLiteral("nosuid"), QStringLiteral("nodev"),
                                                    QStringLiteral("noexec"), QStringLiteral("clone_children"),
                                                    QStringLiteral("noprefix"), QStringLiteral("xattr")};
            const QStringList super = QString::fromUtf8(fields.at(dash + 3)).split(u',');
            for (const QString &option : super) {
                if (option.isEmpty() || notControllers.contains(option) || option.startsWith(QLatin1String("release_agent=")))
                    continue;
                m.controllers << option;
            }
        }
        out.append(m);
    }
    return out;
}

QString folderOf(const Mount &mount, const QString &cgroupPath)
{
    const QString root = mount.root == u"/" ? QString() : mount.root;
    if (!root.isEmpty() && cgroupPath != root && !cgroupPath.startsWith(root + u'/'))
        return {};
    const QString rest = cgroupPath.mid(root.size());
    if (rest.contains(QLatin1String("/../")) || rest.endsWith(QLatin1String("/..")))
        return {};
    return QDir::cleanPath(mount.mountPoint + u'/' + rest);
}

Result<QByteArray> readSmallFile(const QString &path)
{
    const QByteArray native = QFile::encodeName(path);
    const int fd = ::open(native.constData(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot read %1: %2").arg(path, errnoText(errno)));
    QByteArray out;
    char buffer[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return fail(ErrorCode::Io, QStringLiteral("cannot read %1: %2").arg(path, errnoText(err)));
        }
        if (n == 0)
            break;
        out.append(buffer, n);
        if (out.size() > kMaxProcFileBytes) {
            ::close(fd);
            return fail(ErrorCode::Io, QStringLiteral("%1 is larger than 1 MiB").arg(path));
        }
    }
    ::close(fd);
    return out;
}

Result<void> writeFile(const QString &path, QByteArrayView value)
{
    const QByteArray native = QFile::encodeName(path);
    const int fd = ::open(native.constData(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot open %1: %2").arg(path, errnoText(errno)));
    ssize_t n;
    do {
        n = ::write(fd, value.data(), static_cast<size_t>(value.size()));
    } while (n < 0 && errno == EINTR);
    const int err = errno;
    ::close(fd);
    if (n != value.size())
        return fail(ErrorCode::Io, QStringLiteral("cannot write '%1' to %2: %3")
                                       .arg(QString::fromUtf8(value.trimmed()), path, errnoText(n < 0 ? err : EIO)));
    return {};
}

bool exists(const QString &path)
{
    struct stat st{};
    return ::stat(QFile::encodeName(path).constData(), &st) == 0;
}

int countProcs(const QString &procsFile)
{
    const Result<QByteArray> text = readSmallFile(procsFile);
    if (!text)
        return -1;
    return static_cast<int>(text->count('\n'));
}

} // namespace airlock::sandbox::cgroupfs
