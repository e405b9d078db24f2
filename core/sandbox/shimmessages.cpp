#include "shimprotocol.h"

#include <cerrno>

// The typed requests and answers of shimprotocol.h, built on its TlvWriter and TlvReader.

namespace airlock::sandbox {

using wire::Tag;

namespace {

Error malformed(const char *what, const QString &detail)
{
    return Error{ErrorCode::Io, QStringLiteral("malformed %1 from the shim: %2").arg(QLatin1String(what), detail)};
}

QString utf8(const std::optional<QByteArray> &bytes)
{
    return bytes ? QString::fromUtf8(*bytes) : QString();
}

wire::FileType toFileType(quint8 value)
{
    return value <= static_cast<quint8>(wire::FileType::Other) ? static_cast<wire::FileType>(value)
                                                                 : wire::FileType::Unknown;
}

FileStat readStat(const TlvReader &tlv)
{
    FileStat st;
    st.type = toFileType(tlv.u8(Tag::FileType).value_or(0));
    st.size = tlv.u64(Tag::Size).value_or(0);
    st.permissions = tlv.u32(Tag::Mode).value_or(0) & 07777;
    if (const auto ns = tlv.i64(Tag::MtimeNs))
        st.modified = QDateTime::fromMSecsSinceEpoch(*ns / 1000000, Qt::UTC);
    st.linkTarget = utf8(tlv.bytes(Tag::LinkTarget));
    return st;
}

} // namespace

QByteArray encodeHello(quint32 minVersion, quint32 maxVersion, const QStringList &capabilities)
{
    TlvWriter w;
    w.u32(Tag::VersionMin, minVersion).u32(Tag::VersionMax, maxVersion).bytes(Tag::Name, "airlock " AIRLOCK_VERSION);
    for (const QString &capability : capabilities)
        w.string(Tag::Capability, capability);
    return w.data();
}

QByteArray encodeExec(const ExecRequest &request)
{
    TlvWriter w;
    for (const QString &arg : request.argv)
        w.string(Tag::Argv, arg);
    for (const QString &entry : request.env)
        w.string(Tag::Env, entry);
    if (!request.cwd.isEmpty())
        w.string(Tag::Cwd, request.cwd);
    if (request.inheritEnv)
        w.u8(Tag::InheritEnv, 1);
    if (request.stdinData)
        w.bytes(Tag::Stdin, *request.stdinData);
    if (request.streamStdin)
        w.u8(Tag::StdinStream, 1);
    if (request.timeoutMs > 0)
        w.u64(Tag::TimeoutMs, static_cast<quint64>(request.timeoutMs));
    if (request.outputCap)
        w.u64(Tag::OutputCap, *request.outputCap);
    if (request.killGraceMs)
        w.u32(Tag::KillGraceMs, *request.killGraceMs);
    return w.data();
}

QByteArray encodeKill(quint32 target, int signal, int graceMs)
{
    TlvWriter w;
    w.u32(Tag::Target, target);
    if (signal > 0)
        w.u32(Tag::Signal, static_cast<quint32>(signal));
    if (graceMs >= 0)
        w.u32(Tag::KillGraceMs, static_cast<quint32>(graceMs));
    return w.data();
}

QByteArray encodeReadFile(const QString &path, quint64 offset, std::optional<quint64> length)
{
    TlvWriter w;
    w.string(Tag::Path, path);
    if (offset > 0)
        w.u64(Tag::Offset, offset);
    if (length)
        w.u64(Tag::Length, *length);
    return w.data();
}

QByteArray encodeWriteFile(const QString &path, QByteArrayView data, const WriteOptions &options)
{
    TlvWriter w;
    w.string(Tag::Path, path).bytes(Tag::Data, data).u8(Tag::WriteMode, static_cast<quint8>(options.mode));
    w.u32(Tag::Mode, options.permissions & 0777);
    if (options.makeParents)
        w.u8(Tag::MakeParents, 1);
    return w.data();
}

QByteArray encodeListDir(const QString &path)
{
    TlvWriter w;
    w.string(Tag::Path, path);
    return w.data();
}

QByteArray encodeStat(const QString &path, bool followLinks)
{
    TlvWriter w;
    w.string(Tag::Path, path);
    if (!followLinks)
        w.u8(Tag::NoFollow, 1);
    return w.data();
}

QByteArray encodeShutdown(int graceMs)
{
    TlvWriter w;
    if (graceMs >= 0)
        w.u32(Tag::KillGraceMs, static_cast<quint32>(graceMs));
    return w.data();
}

QByteArray encodeTunnelCredit(quint64 bytes)
{
    TlvWriter w;
    w.u64(Tag::Length, bytes);
    return w.data();
}

QByteArray encodeTunnelClose(const QString &why)
{
    TlvWriter w;
    if (!why.isEmpty())
        w.string(Tag::Message, why.left(4096));
    return w.data();
}

bool isTunnelFrame(wire::FrameType type)
{
    switch (type) {
    case wire::FrameType::TunnelOpen:
    case wire::FrameType::TunnelData:
    case wire::FrameType::TunnelEof:
    case wire::FrameType::TunnelClose:
    case wire::FrameType::TunnelCredit:
        return true;
    default:
        return false;
    }
}

Result<HelloInfo> decodeHelloOk(QByteArrayView body)
{
    const TlvReader tlv(body);
    HelloInfo info;
    const auto version = tlv.u32(Tag::Version);
    info.shimName = utf8(tlv.bytes(Tag::Name));
    for (const QByteArray &cap : tlv.all(Tag::Capability))
        info.capabilities.append(QString::fromUtf8(cap));
    info.maxFrameLength = tlv.u32(Tag::MaxFrame).value_or(wire::MaxFrameLength);
    const quint32 port = tlv.u32(Tag::ProxyPort).value_or(0);
    info.shimPid = tlv.u32(Tag::Pid).value_or(0);
    info.workspace = utf8(tlv.bytes(Tag::Workspace));
    if (!tlv.ok())
        return std::unexpected(malformed("hello answer", tlv.errorString()));
    if (!version || *version < wire::MinProtocolVersion || *version > wire::ProtocolVersion)
        return std::unexpected(malformed("hello answer", QStringLiteral("no usable protocol version")));
    if (port > 65535)
        return std::unexpected(malformed("hello answer", QStringLiteral("proxy port out of range")));
    info.version = *version;
    info.proxyPort = static_cast<quint16>(port);
    return info;
}

Result<qint64> decodeExecStarted(QByteArrayView body)
{
    const TlvReader tlv(body);
    const auto pid = tlv.u32(Tag::Pid);
    if (!tlv.ok() || !pid)
        return std::unexpected(malformed("exec start", tlv.ok() ? QStringLiteral("no pid") : tlv.errorString()));
    return static_cast<qint64>(*pid);
}

Result<ExitStatus> decodeExit(QByteArrayView body)
{
    const TlvReader tlv(body);
    ExitStatus status;
    const auto code = tlv.i32(Tag::ExitCode);
    const auto signal = tlv.u32(Tag::Signal);
    const quint32 flags = tlv.u32(Tag::Flags).value_or(0);
    status.durationMs = tlv.u64(Tag::DurationMs).value_or(0);
    status.outputBytes = tlv.u64(Tag::OutputBytes).value_or(0);
    if (!tlv.ok())
        return std::unexpected(malformed("exit status", tlv.errorString()));
    if (code.has_value() == signal.has_value())
        return std::unexpected(malformed("exit status", QStringLiteral("needs exactly one of exit code and signal")));
    if (signal && (*signal == 0 || *signal > 64))
        return std::unexpected(malformed("exit status", QStringLiteral("signal out of range")));
    if (code)
        status.exitCode = *code;
    if (signal)
        status.signal = static_cast<int>(*signal);
    status.timedOut = flags & wire::ExitFlag::TimedOut;
    status.outputTruncated = flags & wire::ExitFlag::OutputTruncated;
    status.killed = flags & wire::ExitFlag::Killed;
    status.coreDumped = flags & wire::ExitFlag::CoreDumped;
    status.outputCapStopped = flags & wire::ExitFlag::OutputCapStopped;
    return status;
}

Result<quint64> decodeLength(QByteArrayView body)
{
    const TlvReader tlv(body);
    const auto length = tlv.u64(Tag::Length);
    if (!tlv.ok() || !length)
        return std::unexpected(malformed("file answer", tlv.ok() ? QStringLiteral("no length") : tlv.errorString()));
    return *length;
}

Result<quint64> decodeTunnelCredit(QByteArrayView body)
{
    const TlvReader tlv(body);
    const auto length = tlv.u64(Tag::Length);
    if (!tlv.ok())
        return std::unexpected(malformed("tunnel credit", tlv.errorString()));
    if (!length || *length == 0)
        return std::unexpected(malformed("tunnel credit", length ? QStringLiteral("a grant of 0 bytes") : QStringLiteral("no length")));
    return *length;
}

Result<QString> decodeTunnelClose(QByteArrayView body)
{
    const TlvReader tlv(body);
    const QString why = utf8(tlv.bytes(Tag::Message)).left(4096);
    if (!tlv.ok())
        return std::unexpected(malformed("tunnel close", tlv.errorString()));
    return why;
}

Result<FileStat> decodeStat(QByteArrayView body)
{
    const TlvReader tlv(body);
    FileStat st = readStat(tlv);
    if (!tlv.ok())
        return std::unexpected(malformed("stat answer", tlv.errorString()));
    if (!tlv.has(Tag::FileType))
        return std::unexpected(malformed("stat answer", QStringLiteral("no file type")));
    return st;
}

Result<void> decodeDirEntries(QByteArrayView body, QList<DirEntry> &into)
{
    const TlvReader tlv(body);
    const QList<QByteArray> entries = tlv.all(Tag::Entry);
    if (!tlv.ok())
        return std::unexpected(malformed("directory entries", tlv.errorString()));
    for (const QByteArray &raw : entries) {
        const TlvReader entry(raw);
        DirEntry e;
        e.name = utf8(entry.bytes(Tag::EntryName));
        e.stat = readStat(entry);
        if (!entry.ok())
            return std::unexpected(malformed("directory entry", entry.errorString()));
        // A name that could walk elsewhere when joined to the directory path is not a name.
        if (e.name.isEmpty() || e.name.contains(u'/') || e.name == u"." || e.name == u"..")
            return std::unexpected(malformed("directory entry", QStringLiteral("bad name")));
        into.append(std::move(e));
    }
    return {};
}

Result<bool> decodeListDone(QByteArrayView body)
{
    const TlvReader tlv(body);
    const quint32 flags = tlv.u32(Tag::Flags).value_or(0);
    if (!tlv.ok())
        return std::unexpected(malformed("listing end", tlv.errorString()));
    return (flags & wire::ListFlag::Truncated) != 0;
}

ShimFailure decodeFailure(QByteArrayView body)
{
    const TlvReader tlv(body);
    ShimFailure failure;
    const auto code = tlv.u32(Tag::ErrorCode);
    const auto err = tlv.u32(Tag::Errno);
    const auto message = tlv.bytes(Tag::Message);
    if (!tlv.ok() || !code) {
        failure.message = QStringLiteral("the shim sent an unreadable error");
        return failure;
    }
    failure.code = static_cast<wire::ShimError>(*code);
    failure.sysErrno = static_cast<int>(err.value_or(0) & 0xffff);
    // Bounded: this text may end up in a dialog.
    failure.message = QString::fromUtf8(message.value_or(QByteArray()).left(4096));
    return failure;
}

Error toError(const ShimFailure &failure)
{
    ErrorCode code = ErrorCode::Io;
    switch (failure.code) {
    case wire::ShimError::NotFound:
    case wire::ShimError::NoSuchRequest:
        code = ErrorCode::NotFound;
        break;
    case wire::ShimError::SpawnFailed:
        code = failure.sysErrno == ENOENT ? ErrorCode::NotFound : ErrorCode::Io;
        break;
    case wire::ShimError::InvalidRequest:
    case wire::ShimError::PathEscape:
    case wire::ShimError::PermissionDenied:
    case wire::ShimError::VersionMismatch:
        code = ErrorCode::InvalidArgument;
        break;
    case wire::ShimError::Busy:
        code = ErrorCode::Busy;
        break;
    case wire::ShimError::ShuttingDown:
        code = ErrorCode::Cancelled;
        break;
    default:
        break;
    }
    return Error{code, QStringLiteral("shim: ") + failure.message};
}

QString frameTypeName(wire::FrameType type)
{
    switch (type) {
    case wire::FrameType::Hello: return QStringLiteral("hello");
    case wire::FrameType::Ping: return QStringLiteral("ping");
    case wire::FrameType::Shutdown: return QStringLiteral("shutdown");
    case wire::FrameType::Exec: return QStringLiteral("exec");
    case wire::FrameType::StdinData: return QStringLiteral("stdin");
    case wire::FrameType::StdinClose: return QStringLiteral("stdin-close");
    case wire::FrameType::Kill: return QStringLiteral("kill");
    case wire::FrameType::ReadFile: return QStringLiteral("read-file");
    case wire::FrameType::WriteFile: return QStringLiteral("write-file");
    case wire::FrameType::ListDir: return QStringLiteral("list-dir");
    case wire::FrameType::Stat: return QStringLiteral("stat");
    case wire::FrameType::TunnelOpen: return QStringLiteral("tunnel-open");
    case wire::FrameType::TunnelData: return QStringLiteral("tunnel-data");
    case wire::FrameType::TunnelEof: return QStringLiteral("tunnel-eof");
    case wire::FrameType::TunnelClose: return QStringLiteral("tunnel-close");
    case wire::FrameType::TunnelCredit: return QStringLiteral("tunnel-credit");
    case wire::FrameType::Ok: return QStringLiteral("ok");
    case wire::FrameType::HelloOk: return QStringLiteral("hello-ok");
    case wire::FrameType::Pong: return QStringLiteral("pong");
    case wire::FrameType::ExecStarted: return QStringLiteral("exec-started");
    case wire::FrameType::Stdout: return QStringLiteral("stdout");
    case wire::FrameType::Stderr: return QStringLiteral("stderr");
    case wire::FrameType::Exit: return QStringLiteral("exit");
    case wire::FrameType::StdoutClosed: return QStringLiteral("stdout-closed");
    case wire::FrameType::FileData: return QStringLiteral("file-data");
    case wire::FrameType::DirEntries: return QStringLiteral("dir-entries");
    case wire::FrameType::Error: return QStringLiteral("error");
    }
    return QStringLiteral("0x%1").arg(static_cast<int>(type), 2, 16, QLatin1Char('0'));
}

} // namespace airlock::sandbox
