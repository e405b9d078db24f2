#pragma once

#include "error.h"
#include "shimwire.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QDateTime>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

// The host side of the shim wire protocol (docs/shim-protocol.md): frames, TLV bodies, and the
// typed requests and answers built from them. Everything read here came out of a sandbox, so
// every decoder checks sizes and types and reports an Error instead of trusting a field.

namespace airlock::sandbox {

struct Frame
{
    wire::FrameType type = wire::FrameType::Error;
    quint32 id = 0;
    QByteArray body;
};

// The whole frame; nullopt when the body is larger than wire::MaxBodySize.
std::optional<QByteArray> encodeFrame(wire::FrameType type, quint32 id, QByteArrayView body);

// Splits a byte stream into frames. A length outside the allowed range fails the stream as soon as
// the four length bytes are in, so it never holds more than one frame plus the last feed(); after
// a failure it ignores input and keeps returning the same error.
class FrameDecoder
{
public:
    explicit FrameDecoder(quint32 maxFrameLength = wire::MaxFrameLength);

    void feed(QByteArrayView bytes);
    // The next whole frame, nullopt when more bytes are needed, or the error that ended the stream.
    Result<std::optional<Frame>> next();
    bool failed() const { return m_error.has_value(); }
    qsizetype bufferedBytes() const { return m_buffer.size() - m_pos; }
    void reset();

private:
    QByteArray m_buffer;
    qsizetype m_pos = 0;
    quint32 m_maxFrameLength;
    std::optional<Error> m_error;
};

class TlvWriter
{
public:
    TlvWriter &u8(wire::Tag tag, quint8 value);
    TlvWriter &u32(wire::Tag tag, quint32 value);
    TlvWriter &i32(wire::Tag tag, qint32 value);
    TlvWriter &u64(wire::Tag tag, quint64 value);
    TlvWriter &i64(wire::Tag tag, qint64 value);
    TlvWriter &bytes(wire::Tag tag, QByteArrayView value);
    TlvWriter &string(wire::Tag tag, QStringView value); // as UTF-8

    const QByteArray &data() const { return m_data; }

private:
    QByteArray m_data;
};

// Parses a TLV body. A truncated field, a number of the wrong width or a repeated single field
// makes ok() false and the getters empty; unknown tags are skipped. The reader points into the
// body, which must outlive it.
class TlvReader
{
public:
    explicit TlvReader(QByteArrayView body);

    bool ok() const { return m_error.isEmpty(); }
    QString errorString() const { return m_error; }

    bool has(wire::Tag tag) const;
    std::optional<quint8> u8(wire::Tag tag) const;
    std::optional<quint32> u32(wire::Tag tag) const;
    std::optional<qint32> i32(wire::Tag tag) const;
    std::optional<quint64> u64(wire::Tag tag) const;
    std::optional<qint64> i64(wire::Tag tag) const;
    std::optional<QByteArray> bytes(wire::Tag tag) const;
    std::optional<QString> string(wire::Tag tag) const;
    QList<QByteArray> all(wire::Tag tag) const;

private:
    struct Field
    {
        quint16 tag;
        QByteArrayView value;
    };
    const Field *single(wire::Tag tag) const;
    const Field *fixed(wire::Tag tag, qsizetype width) const;

    std::vector<Field> m_fields;
    mutable QString m_error;
};

// ---- requests ----

struct ExecRequest
{
    QStringList argv;              // argv[0] is looked up in the PATH of the exec's environment
    QStringList env;               // KEY=VALUE; the whole environment unless inheritEnv
    bool inheritEnv = false;       // start from the shim's environment, env entries override
    QString cwd;                   // empty: the workspace; relative: beneath the workspace
    std::optional<QByteArray> stdinData; // written to stdin, which then closes
    bool streamStdin = false;      // keep stdin open for ShimClient::writeStdin()/closeStdin()
    qint64 timeoutMs = 0;          // 0: none
    std::optional<quint64> outputCap;   // stdout+stderr bytes forwarded; default wire::DefaultOutputCap
    std::optional<quint32> killGraceMs; // SIGTERM to SIGKILL on timeout or stop
};

struct WriteOptions
{
    wire::WriteMode mode = wire::WriteMode::Truncate;
    quint32 permissions = 0644; // for a file that is created
    bool makeParents = false;
};

// capabilities: what the client offers the shim (wire::TunnelCapability: it takes tunnel streams).
QByteArray encodeHello(quint32 minVersion = wire::MinProtocolVersion,
                       quint32 maxVersion = wire::ProtocolVersion, const QStringList &capabilities = {});
QByteArray encodeExec(const ExecRequest &request);
QByteArray encodeKill(quint32 target, int signal = 0, int graceMs = -1);
QByteArray encodeReadFile(const QString &path, quint64 offset, std::optional<quint64> length);
QByteArray encodeWriteFile(const QString &path, QByteArrayView data, const WriteOptions &options);
QByteArray encodeListDir(const QString &path);
QByteArray encodeStat(const QString &path, bool followLinks);
QByteArray encodeShutdown(int graceMs = -1);
// Tunnel streams (docs/shim-protocol.md, "Proxy tunnel"), both directions.
QByteArray encodeTunnelCredit(quint64 bytes);
QByteArray encodeTunnelClose(const QString &why);
bool isTunnelFrame(wire::FrameType type);

// ---- answers ----

struct HelloInfo
{
    quint32 version = 0;
    QString shimName;
    QStringList capabilities;
    quint32 maxFrameLength = 0;
    quint16 proxyPort = 0; // 0: no bridge
    qint64 shimPid = 0;
    QString workspace;
};

struct ExitStatus
{
    std::optional<int> exitCode; // set when the process exited
    std::optional<int> signal;   // set when a signal ended it
    bool timedOut = false;
    bool outputTruncated = false;
    bool killed = false;         // a kill request or shutdown targeted it
    bool coreDumped = false;
    bool outputCapStopped = false; // its output passed the cap, so the shim stopped it
    // The sandbox's memory cgroup killed a process for want of memory while it ran (set by the
    // backend, which can see the cgroup; the shim inside cannot).
    bool outOfMemory = false;
    quint64 durationMs = 0;
    quint64 outputBytes = 0;     // everything it wrote, forwarded or not

    bool succeeded() const { return exitCode == 0; }
    // Why it ended, in words: "exited with status 3", "killed by SIGKILL: out of memory (the
    // sandbox's memory limit)", "stopped: its output passed the cap", "stopped: timed out" …
    QString reason() const;
    // Whether reason() says more than the exit status does: a plain "exited with status N" is told by
    // the status itself, and a command-line tool that passes it on need not repeat it.
    bool needsExplaining() const { return signal.has_value() || outOfMemory || outputCapStopped || outputTruncated; }
    // A short key for the same, for events and scripts: exited, signal, oom, timeout, output-cap,
    // killed, cpu-limit, file-size-limit.
    QString reasonCode() const;
};

// "SIGKILL", "SIGSEGV" …; "signal 42" for one without a name.
QString signalName(int signal);

struct FileStat
{
    wire::FileType type = wire::FileType::Unknown;
    quint64 size = 0;
    quint32 permissions = 0;
    QDateTime modified;
    QString linkTarget; // symlinks only
};

struct DirEntry
{
    QString name;
    FileStat stat;
};

struct DirListing
{
    QList<DirEntry> entries;
    bool truncated = false; // more than wire::MaxListEntries
};

// What an Error frame says.
struct ShimFailure
{
    wire::ShimError code = wire::ShimError::Malformed;
    int sysErrno = 0;
    QString message;
};

Result<HelloInfo> decodeHelloOk(QByteArrayView body);
Result<qint64> decodeExecStarted(QByteArrayView body);
Result<ExitStatus> decodeExit(QByteArrayView body);
Result<quint64> decodeLength(QByteArrayView body); // Ok of a read (bytes sent) or write (bytes written)
Result<FileStat> decodeStat(QByteArrayView body);
// Appends the entries of one DirEntries frame.
Result<void> decodeDirEntries(QByteArrayView body, QList<DirEntry> &into);
Result<bool> decodeListDone(QByteArrayView body); // the truncated flag
Result<quint64> decodeTunnelCredit(QByteArrayView body); // the bytes granted, never 0
Result<QString> decodeTunnelClose(QByteArrayView body);  // why, when the sender said
// Never fails: a garbled error frame is itself reported as malformed.
ShimFailure decodeFailure(QByteArrayView body);
Error toError(const ShimFailure &failure);

QString frameTypeName(wire::FrameType type);

} // namespace airlock::sandbox

Q_DECLARE_METATYPE(airlock::sandbox::ExitStatus)
Q_DECLARE_METATYPE(airlock::sandbox::HelloInfo)
