#include "sandbox/sandboxstate.h"

#include "policy/codec.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock::sandbox {

namespace {

QString errnoText(int err)
{
    return QString::fromLocal8Bit(std::strerror(err));
}

std::unexpected<Error> bad(const QString &path, const QString &why)
{
    return fail(ErrorCode::InvalidArgument, QStringLiteral("sandbox state %1: %2").arg(path, why));
}

qint64 msOf(const QDateTime &t)
{
    return t.isValid() ? t.toMSecsSinceEpoch() : 0;
}

QDateTime timeOf(qint64 ms)
{
    return ms > 0 ? QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC) : QDateTime();
}

// Reads fields and remembers the first one that is missing or of the wrong type.
class Fields
{
public:
    explicit Fields(const QJsonObject &o) : m_o(o) {}

    QString string(const char *key)
    {
        const QJsonValue v = m_o.value(QLatin1StringView(key));
        if (!v.isString())
            miss(key);
        return v.toString();
    }
    qint64 integer(const char *key)
    {
        const QJsonValue v = m_o.value(QLatin1StringView(key));
        if (!v.isDouble() || v.toDouble() < 0 || v.toDouble() > 9007199254740992.0
            || v.toDouble() != static_cast<double>(v.toInteger()))
            miss(key);
        return v.toInteger();
    }
    QJsonObject object(const char *key)
    {
        const QJsonValue v = m_o.value(QLatin1StringView(key));
        if (!v.isObject())
            miss(key);
        return v.toObject();
    }
    const QString &missing() const { return m_missing; }

private:
    void miss(const char *key)
    {
        if (m_missing.isEmpty())
            m_missing = QString::fromLatin1(key);
    }
    const QJsonObject &m_o;
    QString m_missing;
};

} // namespace

QByteArray LocalSandboxState::toJson() const
{
    QJsonObject o;
    o.insert(QStringLiteral("version"), version);
    o.insert(QStringLiteral("id"), id);
    o.insert(QStringLiteral("policyName"), policyName);
    o.insert(QStringLiteral("policy"), QJsonDocument::fromJson(policy::serializePolicy(policy)).object());
    o.insert(QStringLiteral("policyHash"), policyHash);
    o.insert(QStringLiteral("workspace"), workspace);
    o.insert(QStringLiteral("sessionId"), sessionId);
    o.insert(QStringLiteral("lifecycle"), policy::nameOf(lifecycle));
    o.insert(QStringLiteral("state"), stateName(state));
    o.insert(QStringLiteral("message"), message);
    o.insert(QStringLiteral("created"), msOf(created));
    o.insert(QStringLiteral("deadline"), msOf(deadline));
    o.insert(QStringLiteral("bwrapPid"), bwrapPid);
    o.insert(QStringLiteral("bwrapStartTime"), static_cast<qint64>(bwrapStartTime));
    o.insert(QStringLiteral("initPid"), initPid);
    o.insert(QStringLiteral("pidNamespace"), static_cast<qint64>(pidNamespace));
    o.insert(QStringLiteral("ownerPid"), ownerPid);
    o.insert(QStringLiteral("ownerStartTime"), static_cast<qint64>(ownerStartTime));
    o.insert(QStringLiteral("uidMapping"), uidMapping);
    o.insert(QStringLiteral("hostUid"), hostUid);
    if (!workspaceMount.isEmpty())
        o.insert(QStringLiteral("workspaceMount"), workspaceMount);
    if (!agentHome.isEmpty())
        o.insert(QStringLiteral("agentHome"), agentHome);
    o.insert(QStringLiteral("limits"), limits.toJson());
    o.insert(QStringLiteral("cgroup"), cgroup.toJson());
    return QJsonDocument(o).toJson(QJsonDocument::Indented);
}

Result<LocalSandboxState> LocalSandboxState::fromJson(const QByteArray &json)
{
    const QString where = QStringLiteral("(json)");
    if (json.size() > kMaxStateFileBytes)
        return bad(where, QStringLiteral("larger than 2 MiB"));
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return bad(where, QStringLiteral("not a JSON object (%1)").arg(error.errorString()));
    const QJsonObject o = doc.object();
    Fields f(o);
    LocalSandboxState s;
    s.version = static_cast<int>(f.integer("version"));
    s.id = f.string("id");
    s.policyName = f.string("policyName");
    const QJsonObject policyObject = f.object("policy");
    s.policyHash = f.string("policyHash");
    s.workspace = f.string("workspace");
    s.sessionId = f.string("sessionId");
    const QString lifecycle = f.string("lifecycle");
    const QString state = f.string("state");
    s.message = f.string("message");
    s.created = timeOf(f.integer("created"));
    s.deadline = timeOf(f.integer("deadline"));
    s.bwrapPid = f.integer("bwrapPid");
    s.bwrapStartTime = static_cast<quint64>(f.integer("bwrapStartTime"));
    s.initPid = f.integer("initPid");
    s.pidNamespace = static_cast<quint64>(f.integer("pidNamespace"));
    s.ownerPid = f.integer("ownerPid");
    s.ownerStartTime = static_cast<quint64>(f.integer("ownerStartTime"));
    s.uidMapping = f.string("uidMapping");
    // Newer than version 1's first files: optional.
    s.hostUid = o.value(u"hostUid").toInteger(-1);
    s.workspaceMount = o.value(u"workspaceMount").toString();
    s.agentHome = o.value(u"agentHome").toString();
    const QJsonObject limits = f.object("limits");
    const QJsonObject cgroup = f.object("cgroup");
    if (!f.missing().isEmpty())
        return bad(where, QStringLiteral("'%1' is missing or has the wrong type").arg(f.missing()));
    if (s.version != 1)
        return bad(where, QStringLiteral("version %1 is not one this Airlock reads").arg(s.version));
    if (!isValidSandboxId(s.id))
        return bad(where, QStringLiteral("'%1' is not a sandbox id").arg(s.id.left(80)));
    const auto parsedLifecycle = policy::parseEnum<policy::Lifecycle>(lifecycle);
    const auto parsedState = parseState(state);
    if (!parsedLifecycle || !parsedState)
        return bad(where, QStringLiteral("unknown lifecycle or state"));
    s.lifecycle = *parsedLifecycle;
    s.state = *parsedState;
    if (!s.workspace.startsWith(u'/'))
        return bad(where, QStringLiteral("the workspace is not an absolute path"));
    if (!s.created.isValid())
        return bad(where, QStringLiteral("no creation time"));
    Result<policy::Policy> p = policy::parsePolicy(QJsonDocument(policyObject).toJson());
    if (!p)
        return bad(where, QStringLiteral("its policy no longer parses: ") + p.error().message);
    s.policy = std::move(*p);
    s.limits = LimitReport::fromJson(limits);
    s.cgroup = CgroupPlacement::fromJson(cgroup);
    return s;
}

mode_t runtimeDirMode()
{
    return ::geteuid() == 0 ? 0711 : 0700;
}

Result<void> ensurePrivateDir(const QString &path, mode_t mode)
{
    const QByteArray native = QFile::encodeName(path);
    if (::mkdir(native.constData(), mode) != 0 && errno != EEXIST)
        return fail(ErrorCode::Io, QStringLiteral("cannot create %1: %2").arg(path, errnoText(errno)));
    struct stat st{};
    if (::lstat(native.constData(), &st) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot inspect %1: %2").arg(path, errnoText(errno)));
    if (!S_ISDIR(st.st_mode))
        return fail(ErrorCode::Io, QStringLiteral("%1 is not a folder (a link or a file is in the way)").arg(path));
    if (st.st_uid != ::geteuid())
        return fail(ErrorCode::Io, QStringLiteral("%1 belongs to uid %2, not to us; remove it or set AIRLOCK_RUNTIME_DIR")
                                       .arg(path)
                                       .arg(st.st_uid));
    if ((st.st_mode & 07777) != mode && ::chmod(native.constData(), mode) != 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot make %1 private: %2").arg(path, errnoText(errno)));
    return {};
}

Result<void> ensureReachableByOthers(const QString &root)
{
    if (::geteuid() != 0)
        return {};
    // bwrap opens each sandbox's control folder and workspace mount below the root as the sandbox's
    // user: every folder above must let others pass.
    for (QString dir = QFileInfo(root).path(); !dir.isEmpty(); dir = QFileInfo(dir).path()) {
        struct stat st{};
        if (::stat(QFile::encodeName(dir).constData(), &st) == 0 && !(st.st_mode & S_IXOTH))
            return fail(ErrorCode::InvalidArgument,
                        QStringLiteral("the runtime folder %1 is inside %2 (mode %3), which the sandboxes' unprivileged user "
                                       "cannot pass through; set AIRLOCK_RUNTIME_DIR to a folder all users may traverse, "
                                       "e.g. /run/airlock, or let others pass through %2 (chmod o+x)")
                            .arg(root, dir, QString::number(st.st_mode & 07777, 8).rightJustified(4, u'0')));
        if (dir == u"/")
            break;
    }
    return {};
}

Result<QString> sandboxRuntimeRoot()
{
    QString root = qEnvironmentVariable("AIRLOCK_RUNTIME_DIR");
    if (root.isEmpty() && ::geteuid() == 0 && QFileInfo(QStringLiteral("/run")).isDir()
        && ::access("/run", W_OK) == 0)
        root = QStringLiteral("/run/airlock");
    if (root.isEmpty()) {
        const QString xdg = qEnvironmentVariable("XDG_RUNTIME_DIR");
        root = !xdg.isEmpty() && QFileInfo(xdg).isDir() ? xdg + QStringLiteral("/airlock")
                                                       : QStringLiteral("/tmp/airlock-%1").arg(::geteuid());
    }
    root = QDir::cleanPath(root);
    if (!root.startsWith(u'/'))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the runtime folder %1 is not an absolute path").arg(root));
    if (auto r = ensureReachableByOthers(root); !r)
        return std::unexpected(r.error());
    if (auto r = ensurePrivateDir(root, runtimeDirMode()); !r)
        return std::unexpected(r.error());
    if (auto r = ensurePrivateDir(root + QStringLiteral("/sandboxes"), runtimeDirMode()); !r)
        return std::unexpected(r.error());
    return root;
}

Result<void> writeStateFile(const QString &path, const LocalSandboxState &state)
{
    const QByteArray json = state.toJson();
    const QString temp = path + QStringLiteral(".tmp");
    const QByteArray nativeTemp = QFile::encodeName(temp);
    ::unlink(nativeTemp.constData());
    const int fd = ::open(nativeTemp.constData(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return fail(ErrorCode::Io, QStringLiteral("cannot write %1: %2").arg(temp, errnoText(errno)));
    qsizetype done = 0;
    while (done < json.size()) {
        const ssize_t n = ::write(fd, json.constData() + done, static_cast<size_t>(json.size() - done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(nativeTemp.constData());
            return fail(ErrorCode::Io, QStringLiteral("cannot write %1: %2").arg(temp, errnoText(err)));
        }
        done += n;
    }
    ::close(fd);
    if (::rename(nativeTemp.constData(), QFile::encodeName(path).constData()) != 0) {
        const int err = errno;
        ::unlink(nativeTemp.constData());
        return fail(ErrorCode::Io, QStringLiteral("cannot replace %1: %2").arg(path, errnoText(err)));
    }
    return {};
}

Result<LocalSandboxState> readStateFile(const QString &path)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fail(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io,
                    QStringLiteral("cannot read %1: %2").arg(path, errnoText(errno)));
    struct stat st{};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
        ::close(fd);
        return bad(path, QStringLiteral("not a regular file of ours"));
    }
    if (st.st_size > kMaxStateFileBytes) {
        ::close(fd);
        return bad(path, QStringLiteral("larger than 2 MiB"));
    }
    QByteArray data;
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        data.append(buffer, n);
        if (data.size() > kMaxStateFileBytes)
            break;
    }
    ::close(fd);
    Result<LocalSandboxState> state = LocalSandboxState::fromJson(data);
    if (!state)
        return std::unexpected(Error{state.error().code, QString(state.error().message).replace(QStringLiteral("(json)"), path)});
    return state;
}

} // namespace airlock::sandbox
