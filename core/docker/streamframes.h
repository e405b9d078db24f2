#pragma once

#include "error.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonObject>

#include <optional>

// The two streaming body formats of the Engine API: the 8-byte multiplexed frames of logs and attach
// for containers without a TTY, and JSON objects one per line (pull and import progress, events).

namespace airlock::docker {

enum class StreamKind : quint8 { Stdin = 0, Stdout = 1, Stderr = 2, System = 3 };

struct StreamFrame
{
    StreamKind stream = StreamKind::Stdout;
    QByteArray data;
};

// Header: stream (1 byte, 0-3), three zero bytes, payload length (u32 big-endian). A bad header or a
// frame over the cap fails the stream for good; it never buffers more than one frame plus one feed.
class MultiplexDecoder
{
public:
    static constexpr quint32 DefaultMaxFrame = 8 * 1024 * 1024;
    explicit MultiplexDecoder(quint32 maxFrame = DefaultMaxFrame) : m_maxFrame(maxFrame) {}

    void feed(QByteArrayView bytes);
    // The next whole frame, nullopt when more bytes are needed, or the error that ended the stream.
    Result<std::optional<StreamFrame>> next();
    // The body ended: an error when it stopped inside a frame.
    Result<void> finish() const;
    qsizetype bufferedBytes() const { return m_buffer.size() - m_pos; }

private:
    QByteArray m_buffer;
    qsizetype m_pos = 0;
    quint32 m_maxFrame;
    std::optional<Error> m_error;
};

// Splits a body into lines and parses each as a JSON object. Blank lines are skipped; a line that is
// not an object, or longer than the cap, is an error for that line only when lenient, else for good.
class JsonLineSplitter
{
public:
    static constexpr qsizetype DefaultMaxLine = 1024 * 1024;
    explicit JsonLineSplitter(qsizetype maxLine = DefaultMaxLine) : m_maxLine(maxLine) {}

    void feed(QByteArrayView bytes);
    // The next object, nullopt when no whole line is buffered.
    Result<std::optional<QJsonObject>> next();
    // The body ended: a last line without a newline is parsed too.
    Result<std::optional<QJsonObject>> finish();

private:
    Result<std::optional<QJsonObject>> parseLine(QByteArrayView line);

    QByteArray m_buffer;
    qsizetype m_pos = 0;
    qsizetype m_maxLine;
    std::optional<Error> m_error;
};

} // namespace airlock::docker
