#include "docker/streamframes.h"

#include <QJsonDocument>
#include <QJsonParseError>

namespace airlock::docker {

namespace {

Error streamError(const QString &what)
{
    return Error{ErrorCode::Io, QStringLiteral("the Docker daemon sent a bad stream: ") + what};
}

// Drops consumed bytes once they dominate the buffer, so a long stream does not grow it.
void compact(QByteArray &buffer, qsizetype &pos)
{
    if (pos > 0 && (pos >= buffer.size() || pos > 64 * 1024)) {
        buffer.remove(0, pos);
        pos = 0;
    }
}

} // namespace

void MultiplexDecoder::feed(QByteArrayView bytes)
{
    if (m_error)
        return;
    compact(m_buffer, m_pos);
    m_buffer.append(bytes.data(), bytes.size());
}

Result<std::optional<StreamFrame>> MultiplexDecoder::next()
{
    if (m_error)
        return std::unexpected(*m_error);
    if (bufferedBytes() < 8)
        return std::optional<StreamFrame>{};
    const auto *h = reinterpret_cast<const unsigned char *>(m_buffer.constData() + m_pos);
    if (h[0] > 3 || h[1] != 0 || h[2] != 0 || h[3] != 0) {
        m_error = streamError(QStringLiteral("a frame header starts with %1 %2 %3 %4, not a stream number and "
                                             "three zero bytes (is the container attached to a TTY?)")
                                  .arg(h[0]).arg(h[1]).arg(h[2]).arg(h[3]));
        return std::unexpected(*m_error);
    }
    const quint32 length = (quint32(h[4]) << 24) | (quint32(h[5]) << 16) | (quint32(h[6]) << 8) | quint32(h[7]);
    if (length > m_maxFrame) {
        m_error = streamError(QStringLiteral("a frame of %1 bytes is over the %2-byte limit").arg(length).arg(m_maxFrame));
        return std::unexpected(*m_error);
    }
    if (bufferedBytes() < 8 + qsizetype(length))
        return std::optional<StreamFrame>{};
    StreamFrame frame;
    frame.stream = StreamKind(h[0]);
    frame.data = m_buffer.mid(m_pos + 8, length);
    m_pos += 8 + qsizetype(length);
    compact(m_buffer, m_pos);
    return std::optional<StreamFrame>(std::move(frame));
}

Result<void> MultiplexDecoder::finish() const
{
    if (m_error)
        return std::unexpected(*m_error);
    if (bufferedBytes() > 0)
        return std::unexpected(streamError(QStringLiteral("the stream ended inside a frame (%1 bytes left over)")
                                               .arg(bufferedBytes())));
    return {};
}

void JsonLineSplitter::feed(QByteArrayView bytes)
{
    if (m_error)
        return;
    compact(m_buffer, m_pos);
    m_buffer.append(bytes.data(), bytes.size());
}

Result<std::optional<QJsonObject>> JsonLineSplitter::parseLine(QByteArrayView line)
{
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(line.toByteArray(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) {
        m_error = streamError(QStringLiteral("a progress line is not a JSON object (%1): %2")
                                  .arg(error.error != QJsonParseError::NoError ? error.errorString()
                                                                               : QStringLiteral("not an object"),
                                       QString::fromUtf8(line.first(std::min<qsizetype>(line.size(), 80)))));
        return std::unexpected(*m_error);
    }
    return std::optional<QJsonObject>(doc.object());
}

Result<std::optional<QJsonObject>> JsonLineSplitter::next()
{
    while (!m_error) {
        const qsizetype end = m_buffer.indexOf('\n', m_pos);
        if (end < 0) {
            if (m_buffer.size() - m_pos > m_maxLine) {
                m_error = streamError(QStringLiteral("a line is longer than %1 bytes").arg(m_maxLine));
                break;
            }
            return std::optional<QJsonObject>{};
        }
        const QByteArrayView line = QByteArrayView(m_buffer).sliced(m_pos, end - m_pos).trimmed();
        const qsizetype lineLength = end - m_pos;
        m_pos = end + 1;
        if (lineLength > m_maxLine) {
            m_error = streamError(QStringLiteral("a line is longer than %1 bytes").arg(m_maxLine));
            break;
        }
        if (line.isEmpty())
            continue;
        auto parsed = parseLine(line);
        compact(m_buffer, m_pos);
        return parsed;
    }
    return std::unexpected(*m_error);
}

Result<std::optional<QJsonObject>> JsonLineSplitter::finish()
{
    auto line = next();
    if (!line || *line)
        return line;
    const QByteArrayView rest = QByteArrayView(m_buffer).sliced(m_pos).trimmed();
    m_pos = m_buffer.size();
    if (rest.isEmpty())
        return std::optional<QJsonObject>{};
    return parseLine(rest);
}

} // namespace airlock::docker
