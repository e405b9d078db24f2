#include "shimprotocol.h"

#include <QtEndian>

namespace airlock::sandbox {

using wire::Tag;

namespace {

quint64 readBig(const char *p, qsizetype width)
{
    quint64 v = 0;
    for (qsizetype i = 0; i < width; ++i)
        v = (v << 8) | static_cast<uchar>(p[i]);
    return v;
}

void appendBig(QByteArray &out, quint64 value, int width)
{
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
        out.append(static_cast<char>(value >> shift));
}

} // namespace

std::optional<QByteArray> encodeFrame(wire::FrameType type, quint32 id, QByteArrayView body)
{
    if (body.size() > static_cast<qsizetype>(wire::MaxBodySize))
        return std::nullopt;
    QByteArray out;
    out.reserve(static_cast<qsizetype>(wire::HeaderSize) + body.size());
    appendBig(out, wire::MinFrameLength + static_cast<quint64>(body.size()), 4);
    out.append(static_cast<char>(type));
    appendBig(out, id, 4);
    out.append(body);
    return out;
}

FrameDecoder::FrameDecoder(quint32 maxFrameLength)
    : m_maxFrameLength(qBound(wire::MinFrameLength, maxFrameLength, wire::MaxFrameLength))
{
}

void FrameDecoder::feed(QByteArrayView bytes)
{
    if (m_error)
        return;
    if (m_pos == m_buffer.size()) {
        m_buffer.clear();
        m_pos = 0;
    } else if (m_pos > 65536 && m_pos * 2 > m_buffer.size()) {
        m_buffer.remove(0, m_pos);
        m_pos = 0;
    }
    m_buffer.append(bytes);
}

Result<std::optional<Frame>> FrameDecoder::next()
{
    if (m_error)
        return std::unexpected(*m_error);
    const qsizetype available = m_buffer.size() - m_pos;
    if (available < static_cast<qsizetype>(wire::LengthSize))
        return std::optional<Frame>();
    const quint64 length = readBig(m_buffer.constData() + m_pos, 4);
    if (length < wire::MinFrameLength || length > m_maxFrameLength) {
        m_error = Error{ErrorCode::Io,
                        QStringLiteral("the shim sent a frame of %1 bytes; frames are %2 to %3 bytes")
                            .arg(length)
                            .arg(wire::MinFrameLength)
                            .arg(m_maxFrameLength)};
        m_buffer.clear();
        m_pos = 0;
        return std::unexpected(*m_error);
    }
    if (static_cast<quint64>(available) < wire::LengthSize + length)
        return std::optional<Frame>();
    const char *p = m_buffer.constData() + m_pos;
    Frame frame;
    frame.type = static_cast<wire::FrameType>(static_cast<uchar>(p[4]));
    frame.id = static_cast<quint32>(readBig(p + 5, 4));
    frame.body = QByteArray(p + wire::HeaderSize, static_cast<qsizetype>(length - wire::MinFrameLength));
    m_pos += static_cast<qsizetype>(wire::LengthSize + length);
    return std::optional<Frame>(std::move(frame));
}

void FrameDecoder::reset()
{
    m_buffer.clear();
    m_pos = 0;
    m_error.reset();
}

TlvWriter &TlvWriter::u8(Tag tag, quint8 value)
{
    return bytes(tag, QByteArrayView(reinterpret_cast<const char *>(&value), 1));
}

TlvWriter &TlvWriter::u32(Tag tag, quint32 value)
{
    const quint32 be = qToBigEndian(value);
    return bytes(tag, QByteArrayView(reinterpret_cast<const char *>(&be), 4));
}

TlvWriter &TlvWriter::i32(Tag tag, qint32 value)
{
    return u32(tag, static_cast<quint32>(value));
}

TlvWriter &TlvWriter::u64(Tag tag, quint64 value)
{
    const quint64 be = qToBigEndian(value);
    return bytes(tag, QByteArrayView(reinterpret_cast<const char *>(&be), 8));
}

TlvWriter &TlvWriter::i64(Tag tag, qint64 value)
{
    return u64(tag, static_cast<quint64>(value));
}

TlvWriter &TlvWriter::bytes(Tag tag, QByteArrayView value)
{
    appendBig(m_data, static_cast<quint16>(tag), 2);
    appendBig(m_data, static_cast<quint64>(value.size()), 4);
    m_data.append(value);
    return *this;
}

TlvWriter &TlvWriter::string(Tag tag, QStringView value)
{
    return bytes(tag, value.toUtf8());
}

TlvReader::TlvReader(QByteArrayView body)
{
    qsizetype pos = 0;
    while (pos < body.size()) {
        if (body.size() - pos < static_cast<qsizetype>(wire::TlvFieldHeaderSize)) {
            m_error = QStringLiteral("truncated field header");
            return;
        }
        const auto tag = static_cast<quint16>(readBig(body.data() + pos, 2));
        const quint64 length = readBig(body.data() + pos + 2, 4);
        pos += static_cast<qsizetype>(wire::TlvFieldHeaderSize);
        if (length > static_cast<quint64>(body.size() - pos)) {
            m_error = QStringLiteral("field %1 runs past the end of the body").arg(tag);
            return;
        }
        if (m_fields.size() >= wire::MaxTlvFields) {
            m_error = QStringLiteral("too many fields");
            return;
        }
        m_fields.push_back(Field{tag, body.sliced(pos, static_cast<qsizetype>(length))});
        pos += static_cast<qsizetype>(length);
    }
}

bool TlvReader::has(Tag tag) const
{
    for (const Field &f : m_fields) {
        if (f.tag == static_cast<quint16>(tag))
            return true;
    }
    return false;
}

const TlvReader::Field *TlvReader::single(Tag tag) const
{
    const Field *found = nullptr;
    for (const Field &f : m_fields) {
        if (f.tag != static_cast<quint16>(tag))
            continue;
        if (found) {
            m_error = QStringLiteral("field %1 is repeated").arg(f.tag);
            return nullptr;
        }
        found = &f;
    }
    return found;
}

const TlvReader::Field *TlvReader::fixed(Tag tag, qsizetype width) const
{
    const Field *f = single(tag);
    if (f && f->value.size() != width) {
        m_error = QStringLiteral("field %1 has %2 bytes, not %3").arg(f->tag).arg(f->value.size()).arg(width);
        return nullptr;
    }
    return f;
}

std::optional<quint8> TlvReader::u8(Tag tag) const
{
    if (const Field *f = fixed(tag, 1))
        return static_cast<quint8>(f->value[0]);
    return std::nullopt;
}

std::optional<quint32> TlvReader::u32(Tag tag) const
{
    if (const Field *f = fixed(tag, 4))
        return static_cast<quint32>(readBig(f->value.data(), 4));
    return std::nullopt;
}

std::optional<qint32> TlvReader::i32(Tag tag) const
{
    if (const auto v = u32(tag))
        return static_cast<qint32>(*v);
    return std::nullopt;
}

std::optional<quint64> TlvReader::u64(Tag tag) const
{
    if (const Field *f = fixed(tag, 8))
        return readBig(f->value.data(), 8);
    return std::nullopt;
}

std::optional<qint64> TlvReader::i64(Tag tag) const
{
    if (const auto v = u64(tag))
        return static_cast<qint64>(*v);
    return std::nullopt;
}

std::optional<QByteArray> TlvReader::bytes(Tag tag) const
{
    if (const Field *f = single(tag))
        return f->value.toByteArray();
    return std::nullopt;
}

std::optional<QString> TlvReader::string(Tag tag) const
{
    if (const Field *f = single(tag))
        return QString::fromUtf8(f->value);
    return std::nullopt;
}

QList<QByteArray> TlvReader::all(Tag tag) const
{
    QList<QByteArray> values;
    for (const Field &f : m_fields) {
        if (f.tag == static_cast<quint16>(tag))
            values.append(f.value.toByteArray());
    }
    return values;
}

} // namespace airlock::sandbox
