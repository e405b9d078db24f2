#include "wire.h"

namespace airlock::shim {

namespace {

void putU16(std::string &out, std::uint16_t v)
{
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
}

void putU32(std::string &out, std::uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>(v >> shift));
}

void putU64(std::string &out, std::uint64_t v)
{
    for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t getBig(const char *p, std::size_t width)
{
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

void putHeader(std::string &out, wire::Tag tag, std::size_t length)
{
    putU16(out, static_cast<std::uint16_t>(tag));
    putU32(out, static_cast<std::uint32_t>(length));
}

} // namespace

void appendFrame(std::string &out, wire::FrameType type, std::uint32_t id, std::string_view body)
{
    putU32(out, static_cast<std::uint32_t>(wire::MinFrameLength + body.size()));
    out.push_back(static_cast<char>(type));
    putU32(out, id);
    out.append(body);
}

TlvBuilder &TlvBuilder::u8(wire::Tag tag, std::uint8_t value)
{
    putHeader(m_data, tag, 1);
    m_data.push_back(static_cast<char>(value));
    return *this;
}

TlvBuilder &TlvBuilder::u32(wire::Tag tag, std::uint32_t value)
{
    putHeader(m_data, tag, 4);
    putU32(m_data, value);
    return *this;
}

TlvBuilder &TlvBuilder::i32(wire::Tag tag, std::int32_t value)
{
    return u32(tag, static_cast<std::uint32_t>(value));
}

TlvBuilder &TlvBuilder::u64(wire::Tag tag, std::uint64_t value)
{
    putHeader(m_data, tag, 8);
    putU64(m_data, value);
    return *this;
}

TlvBuilder &TlvBuilder::i64(wire::Tag tag, std::int64_t value)
{
    return u64(tag, static_cast<std::uint64_t>(value));
}

TlvBuilder &TlvBuilder::bytes(wire::Tag tag, std::string_view value)
{
    putHeader(m_data, tag, value.size());
    m_data.append(value);
    return *this;
}

TlvReader::TlvReader(std::string_view body)
{
    std::size_t pos = 0;
    while (pos < body.size()) {
        if (body.size() - pos < wire::TlvFieldHeaderSize) {
            m_error = "truncated field header";
            return;
        }
        const auto tag = static_cast<std::uint16_t>(getBig(body.data() + pos, 2));
        const std::uint64_t length = getBig(body.data() + pos + 2, 4);
        pos += wire::TlvFieldHeaderSize;
        if (length > body.size() - pos) {
            m_error = "field runs past the end of the frame";
            return;
        }
        if (m_fields.size() >= wire::MaxTlvFields) {
            m_error = "too many fields";
            return;
        }
        m_fields.push_back({tag, body.substr(pos, length)});
        pos += length;
    }
}

const TlvReader::Field *TlvReader::single(wire::Tag tag)
{
    const Field *found = nullptr;
    for (const Field &f : m_fields) {
        if (f.tag != static_cast<std::uint16_t>(tag))
            continue;
        if (found) {
            m_error = "a single-valued field is repeated";
            return nullptr;
        }
        found = &f;
    }
    return found;
}

const TlvReader::Field *TlvReader::fixed(wire::Tag tag, std::size_t width)
{
    const Field *f = single(tag);
    if (f && f->value.size() != width) {
        m_error = "a number field has the wrong width";
        return nullptr;
    }
    return f;
}

std::optional<std::uint8_t> TlvReader::u8(wire::Tag tag)
{
    if (const Field *f = fixed(tag, 1))
        return static_cast<std::uint8_t>(f->value[0]);
    return std::nullopt;
}

std::optional<std::uint32_t> TlvReader::u32(wire::Tag tag)
{
    if (const Field *f = fixed(tag, 4))
        return static_cast<std::uint32_t>(getBig(f->value.data(), 4));
    return std::nullopt;
}

std::optional<std::uint64_t> TlvReader::u64(wire::Tag tag)
{
    if (const Field *f = fixed(tag, 8))
        return getBig(f->value.data(), 8);
    return std::nullopt;
}

std::optional<std::string_view> TlvReader::bytes(wire::Tag tag)
{
    if (const Field *f = single(tag))
        return f->value;
    return std::nullopt;
}

std::vector<std::string_view> TlvReader::all(wire::Tag tag) const
{
    std::vector<std::string_view> values;
    for (const Field &f : m_fields) {
        if (f.tag == static_cast<std::uint16_t>(tag))
            values.push_back(f.value);
    }
    return values;
}

void FrameDecoder::feed(const char *data, std::size_t size)
{
    if (m_error)
        return;
    if (m_pos == m_buffer.size()) {
        m_buffer.clear();
        m_pos = 0;
    } else if (m_pos > 65536 && m_pos * 2 > m_buffer.size()) {
        m_buffer.erase(0, m_pos);
        m_pos = 0;
    }
    m_buffer.append(data, size);
}

FrameDecoder::Status FrameDecoder::next(Frame &frame)
{
    if (m_error)
        return Status::Failed;
    const std::size_t available = m_buffer.size() - m_pos;
    if (available < wire::LengthSize)
        return Status::NeedMore;
    const std::uint64_t length = getBig(m_buffer.data() + m_pos, wire::LengthSize);
    if (length < wire::MinFrameLength) {
        m_error = "frame length is shorter than its header";
        return Status::Failed;
    }
    if (length > wire::MaxFrameLength) {
        m_error = "frame exceeds the maximum frame size";
        return Status::Failed;
    }
    if (available < wire::LengthSize + length)
        return Status::NeedMore;
    const char *p = m_buffer.data() + m_pos;
    frame.type = static_cast<std::uint8_t>(p[4]);
    frame.id = static_cast<std::uint32_t>(getBig(p + 5, 4));
    frame.body.assign(p + wire::HeaderSize, length - wire::MinFrameLength);
    m_pos += wire::LengthSize + length;
    return Status::Ready;
}

} // namespace airlock::shim
