#include "docker/tarreader.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace airlock::docker {

namespace {

constexpr qsizetype kBlock = 512;

// A numeric field: octal digits (blank- or NUL-padded), or GNU's base-256 with the high bit set.
std::optional<qint64> number(QByteArrayView field)
{
    if (!field.isEmpty() && (quint8(field.at(0)) & 0x80)) {
        if (quint8(field.at(0)) & 0x40)
            return std::nullopt; // negative
        qint64 value = quint8(field.at(0)) & 0x3f;
        for (qsizetype i = 1; i < field.size(); ++i) {
            if (value > (std::numeric_limits<qint64>::max() >> 8))
                return std::nullopt;
            value = (value << 8) | quint8(field.at(i));
        }
        return value;
    }
    qint64 value = 0;
    bool digits = false;
    for (char c : field) {
        if (c == '\0' || c == ' ') {
            if (digits)
                break;
            continue;
        }
        if (c < '0' || c > '7' || value > (std::numeric_limits<qint64>::max() >> 3))
            return std::nullopt;
        value = value * 8 + (c - '0');
        digits = true;
    }
    return value;
}

QByteArray text(QByteArrayView field)
{
    const qsizetype end = field.indexOf('\0');
    return (end < 0 ? field : field.first(end)).toByteArray();
}

bool zeroBlock(QByteArrayView block)
{
    return std::all_of(block.begin(), block.end(), [](char c) { return c == '\0'; });
}

struct Pax
{
    std::optional<QByteArray> path;
    std::optional<QByteArray> linkPath;
    std::optional<qint64> size;
    std::optional<qint64> mtime;
};

// "<length> <key>=<value>\n" records; false when one does not parse.
bool parsePax(QByteArrayView body, Pax &pax)
{
    qsizetype pos = 0;
    while (pos < body.size()) {
        const qsizetype space = body.indexOf(' ', pos);
        if (space < 0)
            return false;
        bool ok = false;
        const qsizetype length = body.sliced(pos, space - pos).toByteArray().toLongLong(&ok);
        if (!ok || length <= space - pos + 1 || pos + length > body.size() || body.at(pos + length - 1) != '\n')
            return false;
        const QByteArrayView record = body.sliced(space + 1, length - (space - pos) - 2);
        const qsizetype eq = record.indexOf('=');
        if (eq <= 0)
            return false;
        const QByteArrayView key = record.first(eq);
        const QByteArray value = record.sliced(eq + 1).toByteArray();
        if (key == "path")
            pax.path = value;
        else if (key == "linkpath")
            pax.linkPath = value;
        else if (key == "size" || key == "mtime") {
            const qint64 n = value.left(value.indexOf('.') < 0 ? value.size() : value.indexOf('.')).toLongLong(&ok);
            if (!ok || n < 0)
                return false;
            (key == "size" ? pax.size : pax.mtime) = n;
        }
        pos += length;
    }
    return true;
}

} // namespace

Error TarReader::broken(const QString &what) const
{
    return Error{ErrorCode::Io, QStringLiteral("the archive is damaged at byte %1: %2").arg(m_pos).arg(what)};
}

Result<std::optional<TarEntry>> TarReader::next()
{
    Pax pax;
    std::optional<QByteArray> gnuName, gnuLink;
    while (!m_done) {
        if (m_pos == m_archive.size()) {
            m_done = true; // an archive without its closing blocks: what came is whole
            break;
        }
        if (m_archive.size() - m_pos < kBlock)
            return std::unexpected(broken(QStringLiteral("it ends inside a header")));
        const QByteArrayView h = m_archive.sliced(m_pos, kBlock);
        if (zeroBlock(h)) {
            m_done = true;
            break;
        }
        unsigned sum = 0;
        for (qsizetype i = 0; i < kBlock; ++i)
            sum += (i >= 148 && i < 156) ? unsigned(' ') : unsigned(quint8(h.at(i)));
        const auto stated = number(h.sliced(148, 8));
        if (!stated || quint64(*stated) != sum)
            return std::unexpected(broken(QStringLiteral("a header's checksum is wrong")));
        const auto size = number(h.sliced(124, 12));
        const auto mode = number(h.sliced(100, 8));
        const auto mtime = number(h.sliced(136, 12));
        if (!size || !mode || !mtime)
            return std::unexpected(broken(QStringLiteral("a header has a field that is not a number")));
        const char type = h.at(156);
        const bool extended = type == 'x' || type == 'g' || type == 'L' || type == 'K';
        const qint64 bodySize = extended ? *size : pax.size.value_or(*size);
        const qint64 padded = (bodySize + kBlock - 1) / kBlock * kBlock;
        if (type != '5' && type != '2' && type != '1' && bodySize > 0
            && (padded < bodySize || m_archive.size() - m_pos - kBlock < padded))
            return std::unexpected(broken(QStringLiteral("an entry of %1 bytes does not fit in the archive").arg(bodySize)));
        const QByteArrayView body = (type == '5' || type == '2' || type == '1')
                                        ? QByteArrayView()
                                        : m_archive.sliced(m_pos + kBlock, qsizetype(bodySize));
        const qsizetype headerAt = m_pos;
        m_pos += kBlock + ((type == '5' || type == '2' || type == '1') ? 0 : qsizetype(padded));

        if (extended) {
            if (bodySize > 1024 * 1024)
                return std::unexpected(broken(QStringLiteral("an extended header of %1 bytes").arg(bodySize)));
            if (type == 'x' && !parsePax(body, pax))
                return std::unexpected(broken(QStringLiteral("a pax record does not parse")));
            if (type == 'L')
                gnuName = text(body);
            if (type == 'K')
                gnuLink = text(body);
            continue; // 'g' (global) records say nothing a copy needs
        }

        TarEntry entry;
        QByteArray name = text(h.first(100));
        if (std::memcmp(h.data() + 257, "ustar", 5) == 0) {
            const QByteArray prefix = text(h.sliced(345, 155));
            if (!prefix.isEmpty())
                name = prefix + '/' + name;
        }
        if (gnuName)
            name = *gnuName;
        if (pax.path)
            name = *pax.path;
        QByteArray link = gnuLink.value_or(pax.linkPath.value_or(text(h.sliced(157, 100))));
        while (name.endsWith('/'))
            name.chop(1);
        if (name.isEmpty() || name.size() > MaxPath || link.size() > MaxPath || name.contains('\0'))
            return std::unexpected(Error{ErrorCode::Io, QStringLiteral("the archive is damaged at byte %1: an entry has no usable "
                                                                       "name").arg(headerAt)});
        entry.path = QString::fromUtf8(name);
        entry.linkTarget = QString::fromUtf8(link);
        entry.mode = quint32(*mode & 07777);
        entry.mtime = pax.mtime.value_or(*mtime);
        switch (type) {
        case '0':
        case '\0':
        case '7':
            entry.type = TarEntry::Type::File;
            entry.data = body;
            break;
        case '5':
            entry.type = TarEntry::Type::Directory;
            break;
        case '2':
            entry.type = TarEntry::Type::Symlink;
            break;
        case '1':
            entry.type = TarEntry::Type::HardLink;
            break;
        default:
            entry.type = TarEntry::Type::Other; // devices, fifos: never recreated
            break;
        }
        return std::optional<TarEntry>(entry);
    }
    return std::optional<TarEntry>();
}

} // namespace airlock::docker
