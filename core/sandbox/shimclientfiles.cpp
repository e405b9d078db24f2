#include "shimclient.h"

#include <QPromise>

// ShimClient's file operations: reads streamed into one buffer, writes split into ordered chunks.

namespace airlock::sandbox {

using wire::FrameType;

namespace {

constexpr qsizetype WriteChunk = 512 * 1024;
// Without an explicit limit a read is refused past this size rather than filling memory with
// whatever a sandbox cares to send.
constexpr quint64 DefaultReadLimit = 64u << 20;

void settle(QPromise<Result<quint64>> &promise, Result<quint64> value)
{
    promise.addResult(std::move(value));
    promise.finish();
}

} // namespace

struct ShimClient::WriteJob
{
    QString path;
    QByteArray data;
    WriteOptions options;
    qsizetype offset = 0;
    QPromise<Result<quint64>> promise;
};

QFuture<Result<QByteArray>> ShimClient::readFile(const QString &path, quint64 offset, std::optional<quint64> maxBytes)
{
    // Unbounded reads ask for one byte past the limit, to tell "exactly the limit" from "more".
    const quint64 limit = maxBytes.value_or(DefaultReadLimit);
    const quint64 asked = maxBytes ? limit : limit + 1;
    auto data = std::make_shared<QByteArray>();
    return call<QByteArray>(
        FrameType::ReadFile, encodeReadFile(path, offset, asked),
        [this, data, asked, limit, bounded = maxBytes.has_value(), path](const Frame &frame,
                                                                         std::optional<Result<QByteArray>> &out) {
            if (frame.type == FrameType::FileData) {
                if (static_cast<quint64>(data->size() + frame.body.size()) > asked)
                    protocolFailure(protocolError(QStringLiteral("more file data than asked for")));
                else
                    data->append(frame.body);
                return true;
            }
            if (frame.type != FrameType::Ok)
                return false;
            const Result<quint64> sent = decodeLength(frame.body);
            if (!sent)
                out = Result<QByteArray>(std::unexpected(sent.error()));
            else if (*sent != static_cast<quint64>(data->size()))
                out = Result<QByteArray>(std::unexpected(protocolError(QStringLiteral("file length mismatch"))));
            else if (!bounded && *sent > limit)
                out = fail(ErrorCode::InvalidArgument,
                           QStringLiteral("%1 is larger than %2 bytes; read it in ranges").arg(path).arg(limit));
            else
                out = std::move(*data);
            return true;
        });
}

QFuture<Result<quint64>> ShimClient::writeFile(const QString &path, const QByteArray &data, const WriteOptions &options)
{
    if (m_state != State::Ready)
        return failedFuture<quint64>(notReady());
    auto job = std::make_shared<WriteJob>();
    job->path = path;
    job->data = data;
    job->options = options;
    QFuture<Result<quint64>> future = job->promise.future();
    job->promise.start();
    sendWriteChunk(job);
    return future;
}

void ShimClient::sendWriteChunk(const std::shared_ptr<WriteJob> &job)
{
    // One chunk at a time: a failed first chunk (CreateNew on an existing file) must not be
    // followed by appends to someone else's file.
    const qsizetype n = std::min(WriteChunk, job->data.size() - job->offset);
    WriteOptions options = job->options;
    if (job->offset > 0) {
        options.mode = wire::WriteMode::Append;
        options.makeParents = false;
    }
    const QByteArray body = encodeWriteFile(job->path, QByteArrayView(job->data).sliced(job->offset, n), options);
    const quint32 id = nextId();
    m_pending.emplace(id, Pending{[this, job, n](const Frame &frame) { return onWriteAnswer(job, n, frame); },
                                  [job](const Error &error) { settle(job->promise, Result<quint64>(std::unexpected(error))); }});
    sendFrame(FrameType::WriteFile, id, body);
}

bool ShimClient::onWriteAnswer(const std::shared_ptr<WriteJob> &job, qsizetype chunk, const Frame &frame)
{
    if (frame.type != FrameType::Ok && frame.type != FrameType::Error)
        return false;
    Result<quint64> written = frame.type == FrameType::Ok ? decodeLength(frame.body)
                                                          : std::unexpected(toError(decodeFailure(frame.body)));
    if (written && *written != static_cast<quint64>(chunk))
        written = std::unexpected(protocolError(QStringLiteral("short write")));
    job->offset += chunk;
    if (!written || job->offset >= job->data.size())
        settle(job->promise, written ? Result<quint64>(static_cast<quint64>(job->offset)) : written);
    else if (m_state != State::Ready)
        settle(job->promise, Result<quint64>(std::unexpected(notReady())));
    else
        sendWriteChunk(job);
    return true;
}

QFuture<Result<DirListing>> ShimClient::listDir(const QString &path)
{
    auto listing = std::make_shared<DirListing>();
    return call<DirListing>(FrameType::ListDir, encodeListDir(path),
                            [this, listing](const Frame &frame, std::optional<Result<DirListing>> &out) {
                                if (frame.type == FrameType::DirEntries) {
                                    const Result<void> added = decodeDirEntries(frame.body, listing->entries);
                                    if (!added)
                                        protocolFailure(added.error());
                                    else if (listing->entries.size() > static_cast<qsizetype>(wire::MaxListEntries))
                                        protocolFailure(protocolError(QStringLiteral("too many directory entries")));
                                    return true;
                                }
                                if (frame.type != FrameType::Ok)
                                    return false;
                                const Result<bool> truncated = decodeListDone(frame.body);
                                if (!truncated) {
                                    out = Result<DirListing>(std::unexpected(truncated.error()));
                                } else {
                                    listing->truncated = *truncated;
                                    out = std::move(*listing);
                                }
                                return true;
                            });
}

QFuture<Result<FileStat>> ShimClient::stat(const QString &path, bool followLinks)
{
    return call<FileStat>(FrameType::Stat, encodeStat(path, followLinks),
                          [](const Frame &frame, std::optional<Result<FileStat>> &out) {
                              if (frame.type != FrameType::Ok)
                                  return false;
                              out = decodeStat(frame.body);
                              return true;
                          });
}

} // namespace airlock::sandbox
