#pragma once

// The numbers of the shim wire protocol (docs/shim-protocol.md), shared by the host side in this
// folder and by app/airlock-shim. Deliberately free of Qt and of the standard library beyond
// <cstdint>: the shim is a static, Qt-free binary and includes this header directly.

#include <cstddef>
#include <cstdint>

namespace airlock::sandbox::wire {

inline constexpr std::uint32_t ProtocolVersion = 1;    // the newest version this build speaks
inline constexpr std::uint32_t MinProtocolVersion = 1; // the oldest it still accepts

// A frame on the wire: u32 length, u8 type, u32 request id, body. The length counts type, id and
// body, so it is never below 5; it is capped so a peer can never make the other side buffer more.
inline constexpr std::size_t LengthSize = 4;
inline constexpr std::size_t HeaderSize = 9;
inline constexpr std::uint32_t MinFrameLength = 5;
inline constexpr std::uint32_t MaxFrameLength = 1u << 20;
inline constexpr std::uint32_t MaxBodySize = MaxFrameLength - MinFrameLength;

// TLV bodies: u16 tag, u32 length, value. A cap on fields keeps a body of tiny fields from
// turning one frame into a large index.
inline constexpr std::size_t TlvFieldHeaderSize = 6;
inline constexpr std::size_t MaxTlvFields = 16384;

// Proxy tunnel streams (--proxy-tunnel): the shim names each stream with an id that has the top bit
// set, so a stream id is never a request id (a client that offers tunnels keeps its ids below it).
// Each side may have at most TunnelWindow bytes of a stream sent and not yet granted back by the
// other; that bounds what either side ever buffers for a stream.
inline constexpr std::uint32_t TunnelIdBit = 0x80000000u;
inline constexpr std::uint64_t TunnelWindow = 256u << 10;
// The capability both sides name in their hello.
inline constexpr const char *TunnelCapability = "proxy-tunnel";

inline constexpr std::uint64_t DefaultOutputCap = 16u << 20;
inline constexpr std::uint32_t DefaultKillGraceMs = 2000;
inline constexpr std::uint32_t MaxListEntries = 65536;

enum class FrameType : std::uint8_t {
    // client -> shim
    Hello = 0x01,
    Ping = 0x02,
    Shutdown = 0x03,
    Exec = 0x10,
    StdinData = 0x11,  // carries the exec's request id; never answered
    StdinClose = 0x12, // likewise
    Kill = 0x13,
    ReadFile = 0x20,
    WriteFile = 0x21,
    ListDir = 0x22,
    Stat = 0x23,
    // tunnel streams, both directions; the id is the stream's (docs/shim-protocol.md, "Proxy tunnel")
    TunnelOpen = 0x30,   // shim -> client only: a TCP connection arrived on the proxy port
    TunnelData = 0x31,   // raw bytes, within the credit the receiver granted
    TunnelEof = 0x32,    // empty: the sender's side reached its end (a half-close)
    TunnelClose = 0x33,  // TLV {Message?}: abort; the stream is gone on both sides
    TunnelCredit = 0x34, // TLV {Length}: the sender may send that many more bytes
    // shim -> client
    Ok = 0x80,
    HelloOk = 0x81,
    Pong = 0x82,
    ExecStarted = 0x90,
    Stdout = 0x91,
    Stderr = 0x92,
    Exit = 0x93,
    StdoutClosed = 0x94, // the exec's stdout reached its end while the process still runs; empty body
    FileData = 0xA0,
    DirEntries = 0xA1,
    Error = 0xFF,
};

// One tag space for every body, so a tag means the same thing and has the same type everywhere.
enum class Tag : std::uint16_t {
    VersionMin = 1,   // u32
    VersionMax = 2,   // u32
    Version = 3,      // u32
    Name = 4,         // string
    Capability = 5,   // string, repeated
    MaxFrame = 6,     // u32
    ProxyPort = 7,    // u32
    Pid = 8,          // u32
    Workspace = 9,    // string

    Argv = 16,        // bytes, repeated, at least one
    Env = 17,         // bytes "KEY=VALUE", repeated
    Cwd = 18,         // bytes
    InheritEnv = 19,  // u8
    Stdin = 20,       // bytes
    StdinStream = 21, // u8
    TimeoutMs = 22,   // u64, 0 = none
    OutputCap = 23,   // u64
    KillGraceMs = 24, // u32

    ExitCode = 32,    // i32
    Signal = 33,      // u32
    Flags = 34,       // u32
    DurationMs = 35,  // u64
    OutputBytes = 36, // u64

    Target = 40,      // u32, the request id of an exec

    Path = 48,        // bytes
    Offset = 49,      // u64
    Length = 50,      // u64
    Size = 51,        // u64
    Data = 52,        // bytes
    WriteMode = 53,   // u8
    Mode = 54,        // u32, permission bits
    MakeParents = 55, // u8
    NoFollow = 56,    // u8
    Entry = 57,       // nested TLV, repeated
    EntryName = 58,   // bytes
    FileType = 59,    // u8
    MtimeNs = 60,     // i64
    LinkTarget = 61,  // bytes
    Count = 62,       // u32

    ErrorCode = 64,   // u32
    Errno = 65,       // u32
    Message = 66,     // string
};

enum class ShimError : std::uint32_t {
    Malformed = 1,        // the frame or its body does not parse; the shim closes the connection
    UnknownType = 2,
    NotNegotiated = 3,    // a request before a successful hello
    VersionMismatch = 4,  // no common version; the shim closes the connection
    InvalidRequest = 5,   // well-formed, but a field is missing or out of range
    DuplicateId = 6,      // the request id is still in use on this connection
    NoSuchRequest = 7,    // kill of an exec that is not running
    SpawnFailed = 8,      // chdir or execve failed in the child; Errno says why
    PathEscape = 9,       // the path leads outside the workspace
    NotFound = 10,
    PermissionDenied = 11,
    Io = 12,              // any other errno
    Busy = 13,            // a limit on connections, execs or concurrent reads
    ShuttingDown = 14,
};

enum class WriteMode : std::uint8_t {
    Truncate = 0,  // create or truncate
    Append = 1,    // create if missing
    CreateNew = 2, // fail if anything exists at the path
};

enum class FileType : std::uint8_t {
    Unknown = 0,
    Regular = 1,
    Directory = 2,
    Symlink = 3,
    Other = 4, // fifo, socket, device
};

namespace ExitFlag {
inline constexpr std::uint32_t TimedOut = 1;
inline constexpr std::uint32_t OutputTruncated = 2;
inline constexpr std::uint32_t Killed = 4; // a kill request or shutdown targeted it
inline constexpr std::uint32_t CoreDumped = 8;
inline constexpr std::uint32_t OutputCapStopped = 16; // its output passed the cap, so it was stopped
} // namespace ExitFlag

namespace ListFlag {
inline constexpr std::uint32_t Truncated = 1; // more than MaxListEntries entries
} // namespace ListFlag

} // namespace airlock::sandbox::wire
