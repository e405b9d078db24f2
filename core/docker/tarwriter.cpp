#include "docker/tarwriter.h"

#include <cstring>

namespace airlock::docker {

namespace {

constexpr qsizetype kBlock = 512;
constexpr qint64 kFixedTime = 1700000000; // 2023-11-14: any constant will do

QString clean(const QString &path)
{
    QString p = path;
    while (p.startsWith(u'/'))
        p.remove(0, 1);
    while (p.endsWith(u'/'))
        p.chop(1);
    return p;
}

// An octal number, zero-padded, NUL-terminated, in a field of `width` bytes.
bool octal(char *field, int width, qint64 value)
{
    const QByteArray digits = QByteArray::number(value, 8);
    if (digits.size() > width - 1)
        return false;
    std::memset(field, '0', size_t(width - 1));
    std::memcpy(field + (width - 1 - digits.size()), digits.constData(), size_t(digits.size()));
    field[width - 1] = '\0';
    return true;
}

} // namespace

bool TarWriter::contains(const QString &path) const
{
    return m_paths.contains(clean(path));
}

Result<void> TarWriter::header(const QString &path, char type, quint32 mode, quint32 uid, quint32 gid, qint64 size,
                               const QString &link)
{
    QString name = clean(path);
    if (name.isEmpty() || name.split(u'/').contains(QStringLiteral("..")))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is not a path inside the image").arg(path));
    if (m_paths.contains(name))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is in the image twice").arg(name));
    QByteArray full = name.toUtf8();
    if (type == '5')
        full += '/';
    QByteArray prefix;
    if (full.size() > 100) {
        // ustar: a prefix of up to 155 bytes, split at a '/', holds the rest.
        qsizetype cut = full.lastIndexOf('/', std::min<qsizetype>(155, full.size() - 2));
        while (cut > 0 && full.size() - cut - 1 > 100)
            cut = -1;
        if (cut <= 0)
            return fail(ErrorCode::InvalidArgument, QStringLiteral("the path '%1' is too long for a tar archive").arg(name));
        prefix = full.left(cut);
        full = full.mid(cut + 1);
    }
    const QByteArray target = link.toUtf8();
    if (target.size() > 100)
        return fail(ErrorCode::InvalidArgument, QStringLiteral("the link target '%1' is too long for a tar archive").arg(link));

    char h[kBlock];
    std::memset(h, 0, sizeof h);
    std::memcpy(h, full.constData(), size_t(full.size()));
    octal(h + 100, 8, mode & 07777);
    octal(h + 108, 8, uid);
    octal(h + 116, 8, gid);
    if (!octal(h + 124, 12, size))
        return fail(ErrorCode::InvalidArgument, QStringLiteral("'%1' is too large for a tar archive").arg(name));
    octal(h + 136, 12, kFixedTime);
    std::memset(h + 148, ' ', 8);
    h[156] = type;
    std::memcpy(h + 157, target.constData(), size_t(target.size()));
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memcpy(h + 265, uid == 0 ? "root" : "agent", uid == 0 ? 4 : 5);
    std::memcpy(h + 297, gid == 0 ? "root" : "agent", gid == 0 ? 4 : 5);
    std::memcpy(h + 345, prefix.constData(), size_t(prefix.size()));
    unsigned sum = 0;
    for (unsigned char c : h)
        sum += c;
    octal(h + 148, 7, sum);
    h[155] = ' ';
    m_data.append(h, kBlock);
    m_paths.insert(name);
    return {};
}

Result<void> TarWriter::addDirectory(const QString &path, quint32 mode, quint32 uid, quint32 gid)
{
    return header(path, '5', mode, uid, gid, 0, {});
}

Result<void> TarWriter::addFile(const QString &path, const QByteArray &data, quint32 mode, quint32 uid, quint32 gid)
{
    if (auto h = header(path, '0', mode, uid, gid, data.size(), {}); !h)
        return h;
    m_data.append(data);
    const qsizetype pad = (kBlock - data.size() % kBlock) % kBlock;
    m_data.append(pad, '\0');
    return {};
}

Result<void> TarWriter::addSymlink(const QString &path, const QString &target)
{
    return header(path, '2', 0777, 0, 0, 0, target);
}

QByteArray TarWriter::finish()
{
    m_data.append(2 * kBlock, '\0');
    m_paths.clear();
    return std::exchange(m_data, {});
}

} // namespace airlock::docker
