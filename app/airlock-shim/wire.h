#pragma once

#include "shimwire.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::shim {

namespace wire = airlock::sandbox::wire;

struct Frame
{
    std::uint8_t type = 0;
    std::uint32_t id = 0;
    std::string body;
};

// Appends a whole frame. Bodies the shim builds are bounded well below wire::MaxBodySize.
void appendFrame(std::string &out, wire::FrameType type, std::uint32_t id, std::string_view body);

// Builds a TLV body.
class TlvBuilder
{
public:
    TlvBuilder &u8(wire::Tag tag, std::uint8_t value);
    TlvBuilder &u32(wire::Tag tag, std::uint32_t value);
    TlvBuilder &i32(wire::Tag tag, std::int32_t value);
    TlvBuilder &u64(wire::Tag tag, std::uint64_t value);
    TlvBuilder &i64(wire::Tag tag, std::int64_t value);
    TlvBuilder &bytes(wire::Tag tag, std::string_view value);

    const std::string &data() const { return m_data; }
    std::size_t size() const { return m_data.size(); }
    void clear() { m_data.clear(); }

private:
    std::string m_data;
};

// Reads a TLV body that came from a client, so it trusts nothing: a truncated field, a value of
// the wrong width or a repeated singular field sets error() and the getters return nothing.
// Unknown tags are skipped so a newer client can add optional fields. The reader keeps views into
// the body, which must outlive it.
class TlvReader
{
public:
    explicit TlvReader(std::string_view body);

    bool ok() const { return m_error == nullptr; }
    const char *error() const { return m_error; }

    std::optional<std::uint8_t> u8(wire::Tag tag);
    std::optional<std::uint32_t> u32(wire::Tag tag);
    std::optional<std::uint64_t> u64(wire::Tag tag);
    std::optional<std::string_view> bytes(wire::Tag tag);
    std::vector<std::string_view> all(wire::Tag tag) const;

private:
    struct Field
    {
        std::uint16_t tag;
        std::string_view value;
    };
    const Field *single(wire::Tag tag);
    const Field *fixed(wire::Tag tag, std::size_t width);

    std::vector<Field> m_fields;
    const char *m_error = nullptr;
};

// Splits a byte stream into frames. It holds at most one frame plus the bytes of the last read,
// rejects a bad length as soon as the four length bytes are in, and stays failed afterwards.
class FrameDecoder
{
public:
    enum class Status { NeedMore, Ready, Failed };

    void feed(const char *data, std::size_t size);
    Status next(Frame &frame);
    const char *error() const { return m_error; }

private:
    std::string m_buffer;
    std::size_t m_pos = 0;
    const char *m_error = nullptr;
};

} // namespace airlock::shim
